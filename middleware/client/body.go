package client

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
)

// hold returns resp with its body wrapped so that the admission's slots are
// released when the body is closed or read to its end (or reclaimed after
// WithMaxHold). A response without a body releases them at once.
func (t *Transport) hold(resp *http.Response, a admission, c *call) *http.Response {
	if resp.Body == nil || resp.Body == http.NoBody {
		a.release(t, false)
		return resp
	}
	b := &heldBody{rc: resp.Body, t: t, adm: a}
	t.open.Add(1)
	if t.track != nil || t.maxHold > 0 {
		b.x = &heldExtra{}
	}
	if t.track != nil {
		b.x.seq = t.track.add(c, b)
	}
	if t.maxHold > 0 {
		b.x.mu.Lock()
		b.x.timer = t.clock.AfterFunc(t.maxHold, b.reclaim)
		b.x.mu.Unlock()
	}
	if _, ok := resp.Body.(io.Writer); ok && resp.StatusCode == http.StatusSwitchingProtocols {
		resp.Body = &heldRW{b} // a protocol switch's body is read-write
	} else {
		resp.Body = b
	}
	return resp
}

// heldBody is a response body holding its call's slots.
type heldBody struct {
	rc   io.ReadCloser
	t    *Transport
	adm  admission
	done atomic.Bool
	x    *heldExtra // with body tracking or WithMaxHold only: the common body stays small
}

type heldExtra struct {
	seq uint64 // in the tracker
	mu  sync.Mutex
	// timer reclaims the slots after WithMaxHold; guarded by mu, since it
	// may fire before hold has stored it.
	timer Timer
}

func (b *heldBody) Read(p []byte) (int, error) {
	n, err := b.rc.Read(p)
	if err == io.EOF {
		b.release()
	}
	return n, err
}

func (b *heldBody) Close() error {
	err := b.rc.Close()
	b.release()
	return err
}

// release gives the slots back the first time it is called.
func (b *heldBody) release() bool {
	if !b.done.CompareAndSwap(false, true) {
		return false
	}
	t := b.t
	if t.maxHold > 0 {
		b.x.mu.Lock()
		if b.x.timer != nil {
			b.x.timer.Stop()
		}
		b.x.mu.Unlock()
	}
	t.open.Add(-1)
	if t.track != nil {
		t.track.forget(b.x.seq)
	}
	b.adm.release(t, false)
	return true
}

// reclaim takes the slots back from a body held too long.
func (b *heldBody) reclaim() {
	var where OpenBody
	if tr := b.t.track; tr != nil {
		where, _ = tr.get(b.x.seq)
	}
	if !b.release() {
		return
	}
	b.t.reclaimed.Add(1)
	if lg := b.t.logger; lg != nil {
		lg.LogAttrs(context.Background(), slog.LevelWarn, "client: response body held too long; slots reclaimed",
			slog.String("integration", b.adm.it.Name), slog.Duration("max_hold", b.t.maxHold),
			slog.String("opened_at", where.At()))
	}
}

// heldRW is a held body that is also writable (101 Switching Protocols).
type heldRW struct{ *heldBody }

func (b *heldRW) Write(p []byte) (int, error) { return b.rc.(io.Writer).Write(p) }
