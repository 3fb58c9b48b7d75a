package semaphore

import (
	"cmp"
	"fmt"
	"io"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
)

// Lease is weight held on a Weighted whose release is tied to the life of
// something else, such as an HTTP response body: the concurrency slot of a
// client call is held until the body is closed, not merely until RoundTrip
// returns. Release gives the weight back exactly once, however many times and
// from however many goroutines it is called. A Lease is safe for concurrent
// use; the zero value holds nothing and its Release returns false.
type Lease struct {
	s        *Weighted
	n        int64
	released atomic.Bool
	tracker  *Tracker
	seq      uint64 // key in tracker.live
}

// NewLease wraps weight n already acquired on s. It does not acquire.
func NewLease(s *Weighted, n int64) *Lease {
	return &Lease{s: s, n: n}
}

// Release returns the weight to the semaphore on the first call and reports
// true; later calls do nothing and report false.
func (l *Lease) Release() bool {
	if l.s == nil || !l.released.CompareAndSwap(false, true) {
		return false
	}
	l.s.Release(l.n)
	if l.tracker != nil {
		l.tracker.forget(l.seq)
	}
	return true
}

// Released reports whether Release has been called.
func (l *Lease) Released() bool { return l.released.Load() }

// Weight returns the weight the lease holds (or held).
func (l *Lease) Weight() int64 { return l.n }

// ReleaseOnClose returns rc wrapped so that its Close also releases l, even
// when the body was not read to the end; closing twice releases once. The
// error is rc's Close error.
func ReleaseOnClose(rc io.ReadCloser, l *Lease) io.ReadCloser {
	return &leaseBody{ReadCloser: rc, lease: l}
}

type leaseBody struct {
	io.ReadCloser
	lease *Lease
}

func (b *leaseBody) Close() error {
	err := b.ReadCloser.Close()
	b.lease.Release()
	return err
}

// Tracker records the leases created through it that are not yet released,
// with the file and line that created each, so that tests can find leaks
// without finalizers. The zero value is ready to use and safe for concurrent
// use.
type Tracker struct {
	mu   sync.Mutex // protects next and live
	next uint64
	live map[uint64]LeakInfo
}

// LeakInfo describes a lease still held.
type LeakInfo struct {
	File   string // where Tracker.Lease was called
	Line   int
	Weight int64
	Seq    uint64 // creation order
}

func (li LeakInfo) String() string {
	return fmt.Sprintf("%s:%d: lease of weight %d not released", li.File, li.Line, li.Weight)
}

// TestingT is the part of *testing.T that Tracker.Check needs.
type TestingT interface {
	Errorf(format string, args ...any)
}

// Lease is NewLease with the lease registered in the tracker until released.
func (tr *Tracker) Lease(s *Weighted, n int64) *Lease {
	_, file, line, _ := runtime.Caller(1)
	l := &Lease{s: s, n: n, tracker: tr}
	tr.mu.Lock()
	tr.next++
	l.seq = tr.next
	if tr.live == nil {
		tr.live = make(map[uint64]LeakInfo)
	}
	tr.live[l.seq] = LeakInfo{File: file, Line: line, Weight: n, Seq: l.seq}
	tr.mu.Unlock()
	return l
}

func (tr *Tracker) forget(seq uint64) {
	tr.mu.Lock()
	delete(tr.live, seq)
	tr.mu.Unlock()
}

// Outstanding returns the leases not yet released, oldest first.
func (tr *Tracker) Outstanding() []LeakInfo {
	tr.mu.Lock()
	out := make([]LeakInfo, 0, len(tr.live))
	for _, li := range tr.live {
		out = append(out, li)
	}
	tr.mu.Unlock()
	slices.SortFunc(out, func(a, b LeakInfo) int { return cmp.Compare(a.Seq, b.Seq) })
	return out
}

// Check reports each outstanding lease as an error on t and returns true if
// there were none. Call it at the end of a test (t.Cleanup) once everything
// that should release has done so.
func (tr *Tracker) Check(t TestingT) bool {
	leaks := tr.Outstanding()
	for _, li := range leaks {
		t.Errorf("semaphore: leaked lease: %v", li)
	}
	return len(leaks) == 0
}
