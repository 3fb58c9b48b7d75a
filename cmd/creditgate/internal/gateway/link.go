package gateway

import (
	"net/http"
	"net/url"
	"sync/atomic"
	"time"
)

// link is one upstream's transport and the proxy handlers running over it.
// A reload to another upstream gives the new handler a new link and retires
// the old one, whose connections are then closed: the transport would keep
// them idle for 90 s, and hand them to the new upstream if it had the same
// scheme and address. A reload that keeps the upstream keeps its link.
type link struct {
	upstream *url.URL // nil: no upstream
	tr       *http.Transport
	active   atomic.Int64 // proxy handlers running over tr, upgraded connections included
}

// serves reports whether l's connections serve u: the transport keys them
// by scheme and host.
func (l *link) serves(u *url.URL) bool {
	if l.upstream == nil || u == nil {
		return l.upstream == u
	}
	return l.upstream.Scheme == u.Scheme && l.upstream.Host == u.Host
}

// linkFor returns the link to serve u: the current one if it serves u, else
// a new one with the same transport settings (timeouts need a restart).
func (g *Gateway) linkFor(u *url.URL) *link {
	cur := g.current.Load().link
	if cur.serves(u) {
		return cur
	}
	return &link{upstream: u, tr: cur.tr.Clone()}
}

// enter returns the current bundle with the request counted on its link. It
// counts, then checks the bundle again: a request that read the bundle just
// before a reload swapped in one over a new link backs off and takes the new
// one, so that once a retired link's count is 0 nothing goes out over it.
func (g *Gateway) enter() *bundle {
	b := g.current.Load()
	for {
		b.link.active.Add(1)
		now := g.current.Load()
		if now.link == b.link {
			return now
		}
		b.link.active.Add(-1)
		b = now
	}
}

// retire closes l's idle connections now and, from a goroutine that Close
// stops, the others once the calls over them have ended. Called with mu
// held, after the swap.
func (g *Gateway) retire(l *link) {
	// The connections of calls in flight close as they turn idle, unless
	// a call asks l for a connection in between: hence the second close.
	l.tr.CloseIdleConnections()
	g.drains.Add(1)
	go func() {
		defer g.drains.Done()
		for wait := time.Millisecond; l.active.Load() > 0; wait = min(2*wait, time.Second) {
			select {
			case <-g.stop:
				return // Close closes every link's connections
			case <-time.After(wait):
			}
		}
		l.tr.CloseIdleConnections()
		g.mu.Lock()
		delete(g.links, l)
		g.mu.Unlock()
	}()
}

// inFlight is the number of proxy handlers running, upgraded connections
// included.
func (g *Gateway) inFlight() int64 {
	g.mu.Lock()
	defer g.mu.Unlock()
	var n int64
	for l := range g.links {
		n += l.active.Load()
	}
	return n
}
