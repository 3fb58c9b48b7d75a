package semaphore

import (
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestLeaseReleasesExactlyOnce(t *testing.T) {
	s := NewWeighted(3)
	require.True(t, s.TryAcquire(2))
	l := NewLease(s, 2)
	assert.Equal(t, int64(2), l.Weight())
	assert.False(t, l.Released())
	assert.True(t, l.Release())
	assert.False(t, l.Release(), "second release is a no-op, not a panic")
	assert.True(t, l.Released())
	assert.Equal(t, int64(0), s.Held())
}

func TestLeaseConcurrentReleaseWinsOnce(t *testing.T) {
	s := NewWeighted(1)
	for range 200 {
		require.True(t, s.TryAcquire(1))
		l := NewLease(s, 1)
		var wins atomic.Int32
		var wg sync.WaitGroup
		for range 4 {
			wg.Go(func() {
				if l.Release() {
					wins.Add(1)
				}
			})
		}
		wg.Wait()
		require.Equal(t, int32(1), wins.Load())
		require.Equal(t, int64(0), s.Held())
	}
}

func TestZeroLeaseHoldsNothing(t *testing.T) {
	var l Lease
	assert.False(t, l.Release())
}

type closeCounter struct {
	io.Reader
	closes int
	err    error
}

func (c *closeCounter) Close() error { c.closes++; return c.err }

func TestReleaseOnCloseReleasesOnceWithoutReadingToEnd(t *testing.T) {
	s := NewWeighted(1)
	require.True(t, s.TryAcquire(1))
	errClose := errors.New("close failed")
	inner := &closeCounter{Reader: strings.NewReader("a long body"), err: errClose}
	body := ReleaseOnClose(inner, NewLease(s, 1))

	buf := make([]byte, 2)
	_, err := body.Read(buf) // read part of it only
	require.NoError(t, err)
	assert.Equal(t, int64(1), s.Held(), "held until closed")
	assert.ErrorIs(t, body.Close(), errClose, "the body's error comes through")
	assert.Equal(t, int64(0), s.Held())
	assert.ErrorIs(t, body.Close(), errClose)
	assert.Equal(t, 2, inner.closes)
	assert.Equal(t, int64(0), s.Held(), "closing twice released once")
}

type fakeT struct{ errs []string }

func (f *fakeT) Errorf(format string, args ...any) {
	f.errs = append(f.errs, fmt.Sprintf(format, args...))
}

func TestTrackerFindsLeakedLeases(t *testing.T) {
	var tr Tracker // zero value is ready
	s := NewWeighted(4)
	require.True(t, s.TryAcquire(3))
	_, _, line, _ := runtime.Caller(0)
	kept := tr.Lease(s, 1)   // line+1
	leaked := tr.Lease(s, 2) // line+2
	_ = leaked

	assert.True(t, kept.Release())
	out := tr.Outstanding()
	require.Len(t, out, 1)
	assert.Equal(t, "lease_test.go", filepath.Base(out[0].File))
	assert.Equal(t, line+2, out[0].Line)
	assert.Equal(t, int64(2), out[0].Weight)

	var ft fakeT
	assert.False(t, tr.Check(&ft))
	require.Len(t, ft.errs, 1)
	assert.Contains(t, ft.errs[0], fmt.Sprintf("lease_test.go:%d", line+2))
	assert.Contains(t, ft.errs[0], "weight 2 not released")

	assert.True(t, leaked.Release())
	ft = fakeT{}
	assert.True(t, tr.Check(&ft))
	assert.Empty(t, ft.errs)
	assert.Equal(t, int64(0), s.Held())
}

func TestTrackerOutstandingIsOrderedAndConcurrencySafe(t *testing.T) {
	tr := &Tracker{}
	s := NewWeighted(1000)
	require.True(t, s.TryAcquire(100))
	var mu sync.Mutex
	var leases []*Lease
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for range 25 {
				l := tr.Lease(s, 1)
				mu.Lock()
				leases = append(leases, l)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	out := tr.Outstanding()
	require.Len(t, out, 100)
	for i := 1; i < len(out); i++ {
		assert.Less(t, out[i-1].Seq, out[i].Seq)
	}
	for _, l := range leases {
		wg.Go(func() { l.Release() })
	}
	wg.Wait()
	assert.Empty(t, tr.Outstanding())
	assert.Equal(t, int64(0), s.Held())
}
