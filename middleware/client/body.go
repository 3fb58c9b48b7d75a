package client

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"sync"

	"github.com/creditgate/creditgate/limiter"
)

// hold returns resp with its body wrapped so that the admission's slots are
// released when the body is closed or read to its end (or reclaimed after
// WithMaxHold). A response without a body releases them at once.
func (t *Transport) hold(resp *http.Response, a *admission, c *call) *http.Response {
	if resp.Body == nil || resp.Body == http.NoBody {
		a.release(t, false)
		c.ended()
		return resp
	}
	if c.internal {
		t.heldInternal.Add(1)
	} else {
		c.it.c.held.Add(1) // the call's count as a request too
	}
	// The status first: asserting an interface is a lookup.
	if resp.StatusCode == http.StatusSwitchingProtocols {
		if _, ok := resp.Body.(io.Writer); ok {
			resp.Body = &heldRW{t.newHeld(resp.Body, a, c)} // a protocol switch's body is read-write
			return resp
		}
	}
	// Stored as the concrete types, not as a held: converting one to an
	// io.ReadCloser is an itab lookup.
	if t.short(a) {
		resp.Body = &heldBody{rc: resp.Body, t: t, pool: a.pool}
	} else {
		resp.Body = t.holdLong(resp.Body, a, c)
	}
	return resp
}

// short reports whether admission a's body holds only its pool ticket (a
// heldBody): no quota ticket, no body tracking, no WithMaxHold.
func (t *Transport) short(a *admission) bool {
	return t.track == nil && t.maxHold <= 0 && a.quota == (limiter.Ticket{})
}

// newHeld returns the held body of rc for admission a of call c.
func (t *Transport) newHeld(rc io.ReadCloser, a *admission, c *call) held {
	if t.short(a) {
		return &heldBody{rc: rc, t: t, pool: a.pool}
	}
	return t.holdLong(rc, a, c)
}

// held is a response body holding its call's slots.
type held interface {
	io.ReadCloser
	base() io.ReadCloser
}

// heldBody is the held body of most calls: the pool's ticket only, 40
// bytes (a 48-byte allocation), since one is allocated per call. The
// ticket's Release, true only the first time, is what makes a second Close
// (or a Close after EOF) do nothing: no flag of its own, and one atomic
// operation fewer per call.
type heldBody struct {
	rc   io.ReadCloser
	t    *Transport
	pool limiter.Ticket
}

func (b *heldBody) base() io.ReadCloser { return b.rc }

func (b *heldBody) Read(p []byte) (int, error) {
	n, err := b.rc.Read(p)
	if err == io.EOF {
		b.release()
	}
	return n, err
}

// Close closes the base body, then gives the slots back: also if the base
// Close panics, which then goes on to the caller (else the slots were lost
// for good). The only defer on an admitted call's way, and an open-coded
// one; Close runs once per call.
func (b *heldBody) Close() error {
	defer b.release()
	return b.rc.Close()
}

// release gives the slots back the first time it is called.
func (b *heldBody) release() {
	if !b.pool.Release() {
		return
	}
	b.t.closed.Add(1)
	b.t.gate.released(false)
}

// heldLong is a held body with a quota ticket, body tracking or WithMaxHold.
type heldLong struct {
	heldBody
	quota limiter.Ticket
	it    *integration
	seq   uint64 // in the tracker
	mu    sync.Mutex
	// timer reclaims the slots after WithMaxHold; guarded by mu, since it
	// may fire before holdLong has stored it.
	timer Timer
}

func (t *Transport) holdLong(rc io.ReadCloser, a *admission, c *call) *heldLong {
	b := &heldLong{heldBody: heldBody{rc: rc, t: t, pool: a.pool}, quota: a.quota, it: a.it}
	if t.track != nil {
		b.seq = t.track.add(c)
	}
	if t.maxHold > 0 {
		b.mu.Lock()
		b.timer = t.clock.AfterFunc(t.maxHold, b.reclaim)
		b.mu.Unlock()
	}
	return b
}

func (b *heldLong) Read(p []byte) (int, error) {
	n, err := b.rc.Read(p)
	if err == io.EOF {
		b.release()
	}
	return n, err
}

// Close is heldBody's.
func (b *heldLong) Close() error {
	defer b.release()
	return b.rc.Close()
}

// release gives the slots back the first time it is called (the first
// to release the pool's ticket, which every admission holds).
func (b *heldLong) release() bool {
	if !b.pool.Release() {
		return false
	}
	t := b.t
	if t.maxHold > 0 {
		b.mu.Lock()
		if b.timer != nil {
			b.timer.Stop()
		}
		b.mu.Unlock()
	}
	t.closed.Add(1)
	if t.track != nil {
		t.track.forget(b.seq)
	}
	b.quota.Release()
	t.gate.released(false)
	return true
}

// reclaim takes the slots back from a body held too long.
func (b *heldLong) reclaim() {
	var where OpenBody
	if tr := b.t.track; tr != nil {
		where, _ = tr.get(b.seq)
	}
	if !b.release() {
		return
	}
	b.t.reclaimed.Add(1)
	if lg := b.t.logger; lg != nil {
		lg.LogAttrs(context.Background(), slog.LevelWarn, "client: response body held too long; slots reclaimed",
			slog.String("integration", b.it.Name), slog.Duration("max_hold", b.t.maxHold),
			slog.String("opened_at", where.At()))
	}
}

// heldRW is a held body that is also writable (101 Switching Protocols).
type heldRW struct{ held }

func (b *heldRW) Write(p []byte) (int, error) { return b.base().(io.Writer).Write(p) }
