package main

import (
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// fakeCRM is the upstream of the end-to-end tests: it counts the calls in
// flight (all, and bulk ones) and their peaks, and can hold calls until
// released.
type fakeCRM struct {
	srv   *httptest.Server
	delay time.Duration

	inFlight, bulkInFlight atomic.Int64
	peak, bulkPeak         atomic.Int64
	calls                  atomic.Int64
	conns                  atomic.Int64 // connections open

	mu      sync.Mutex
	hold    chan struct{} // when not nil, /slow waits for it to close
	arrived chan struct{} // receives once per /slow call that arrived
}

func newFakeCRM(t *testing.T, delay time.Duration) *fakeCRM {
	t.Helper()
	f := &fakeCRM{delay: delay, arrived: make(chan struct{}, 16)}
	f.srv = httptest.NewUnstartedServer(http.HandlerFunc(f.serve))
	f.srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		switch s {
		case http.StateNew:
			f.conns.Add(1)
		case http.StateClosed, http.StateHijacked:
			f.conns.Add(-1)
		}
	}
	f.srv.Start()
	t.Cleanup(f.srv.Close)
	return f
}

func raise(peak *atomic.Int64, v int64) {
	for {
		p := peak.Load()
		if v <= p || peak.CompareAndSwap(p, v) {
			return
		}
	}
}

func (f *fakeCRM) serve(w http.ResponseWriter, r *http.Request) {
	f.calls.Add(1)
	raise(&f.peak, f.inFlight.Add(1))
	defer f.inFlight.Add(-1)
	if strings.HasPrefix(r.URL.Path, "/crm/bulk/") {
		raise(&f.bulkPeak, f.bulkInFlight.Add(1))
		defer f.bulkInFlight.Add(-1)
	}
	if strings.HasSuffix(r.URL.Path, "/slow") {
		f.mu.Lock()
		hold := f.hold
		f.mu.Unlock()
		f.arrived <- struct{}{}
		if hold != nil {
			<-hold
		}
	} else if f.delay > 0 {
		time.Sleep(f.delay) // simulated upstream work, so that calls overlap
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write([]byte(`{"data":[{"id":"1"}]}`))
}

// waitConns waits until f has want connections open.
func (f *fakeCRM) waitConns(t *testing.T, want int64, why string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for f.conns.Load() != want {
		if time.Now().After(deadline) {
			t.Fatalf("%s: %d connections open after 5 s, want %d", why, f.conns.Load(), want)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
