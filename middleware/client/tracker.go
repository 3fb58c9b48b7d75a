package client

import (
	"cmp"
	"fmt"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
)

// OpenBody is a response whose body is still open, holding its slots.
type OpenBody struct {
	Integration string
	Method, URL string
	File        string // where the request was sent from (the first caller outside net/http and this package)
	Line        int
	Seq         uint64 // order of the calls
}

// At is File:Line, or "unknown".
func (o OpenBody) At() string {
	if o.File == "" {
		return "unknown"
	}
	return fmt.Sprintf("%s:%d", o.File, o.Line)
}

func (o OpenBody) String() string {
	return fmt.Sprintf("%s: %s %s (integration %q): response body not closed", o.At(), o.Method, o.URL, o.Integration)
}

// TestingT is the part of *testing.T that CheckBodies needs.
type TestingT interface {
	Errorf(format string, args ...any)
}

// OpenBodies returns the responses whose bodies are still open, oldest
// first; with WithBodyTracking only (nil otherwise).
func (t *Transport) OpenBodies() []OpenBody {
	if t.track == nil {
		return nil
	}
	return t.track.list()
}

// CheckBodies reports each body still open as an error on tb, with where its
// request was sent from, and returns true if there were none. Without
// WithBodyTracking it checks only that none is open.
func (t *Transport) CheckBodies(tb TestingT) bool {
	if t.track == nil {
		if n := t.openBodies(); n > 0 {
			tb.Errorf("client: %d response bodies not closed (WithBodyTracking says where)", n)
			return false
		}
		return true
	}
	open := t.track.list()
	for _, o := range open {
		tb.Errorf("%v", o)
	}
	return len(open) == 0
}

// tracker records the open bodies.
type tracker struct {
	mu   sync.Mutex // protects next and open
	next uint64
	open map[uint64]OpenBody
}

type frame struct {
	file string
	line int
}

func (tr *tracker) add(c *call) uint64 {
	o := OpenBody{Integration: c.it.Name, Method: c.req.Method}
	if c.req.URL != nil {
		o.URL = c.req.URL.Redacted()
	}
	if c.where != nil {
		o.File, o.Line = c.where.file, c.where.line
	}
	tr.mu.Lock()
	defer tr.mu.Unlock()
	tr.next++
	o.Seq = tr.next
	if tr.open == nil {
		tr.open = map[uint64]OpenBody{}
	}
	tr.open[o.Seq] = o
	return o.Seq
}

func (tr *tracker) forget(seq uint64) {
	tr.mu.Lock()
	delete(tr.open, seq)
	tr.mu.Unlock()
}

func (tr *tracker) get(seq uint64) (OpenBody, bool) {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	o, ok := tr.open[seq]
	return o, ok
}

func (tr *tracker) list() []OpenBody {
	tr.mu.Lock()
	out := make([]OpenBody, 0, len(tr.open))
	for _, o := range tr.open {
		out = append(out, o)
	}
	tr.mu.Unlock()
	slices.SortFunc(out, func(a, b OpenBody) int { return cmp.Compare(a.Seq, b.Seq) })
	return out
}

// pkgDir is this package's directory, whose non-test files are not callers.
var pkgDir = func() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Dir(file)
}()

// callerFrame finds the first frame outside net/http and this package's own
// code: the code that sent the request.
func callerFrame() *frame {
	var pcs [32]uintptr
	n := runtime.Callers(3, pcs[:])
	frames := runtime.CallersFrames(pcs[:n])
	for {
		f, more := frames.Next()
		own := filepath.Dir(f.File) == pkgDir && !strings.HasSuffix(f.File, "_test.go")
		if !own && !strings.HasPrefix(f.Function, "net/http.") && f.File != "" {
			return &frame{file: f.File, line: f.Line}
		}
		if !more {
			return nil
		}
	}
}
