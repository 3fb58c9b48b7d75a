//go:build creditgate_testhooks

package redis

import (
	"testing"
	"time"

	"github.com/creditgate/creditgate/store"
)

// A release the flusher has taken off the tenant but not yet sent must
// still reach Redis before the tenant's next step from this instance: the
// instance never sees its own released slot as held (release.go). Here the
// flusher is held between the two; a take of the released slot under a cap
// of 1 must be admitted. It was refused for concurrency: the take went out
// on its own connection ahead of the flusher's ZREM (TestModel failed so,
// now and then, under scripts/test.sh's load).
func TestTakeAfterReleaseTheFlusherHolds(t *testing.T) {
	t.Cleanup(func() { flushHook = nil }) // after the store's Close, which ends the flusher
	s := newStore(t, client(t, shared.addr()))
	p := store.Plan{Credits: 100, Window: time.Hour, Concurrency: 1}
	pf := func(string) *store.Plan { return &p }
	req := &store.Request{Tenant: "t", App: "x", Credits: 1}
	now := time.Now()
	var l Lease
	var d store.Decision
	s.Take(now, req, pf, &l, &d)
	if !d.Allowed {
		t.Fatalf("first take: %+v", d)
	}
	taken, proceed := make(chan struct{}), make(chan struct{})
	flushHook = func() {
		flushHook = nil
		close(taken)
		<-proceed
	}
	s.Release(&l)
	<-taken // the flusher holds the release
	done := make(chan store.Decision)
	go func() {
		var l2 Lease
		var d2 store.Decision
		s.Take(now, req, pf, &l2, &d2)
		if d2.Allowed {
			s.Release(&l2)
		}
		done <- d2
	}()
	select {
	case d = <-done: // went ahead of the held release
		close(proceed)
	case <-time.After(500 * time.Millisecond): // waits for it
		close(proceed)
		d = <-done
	}
	if !d.Allowed {
		t.Fatalf("take after a release the flusher held: %+v", d)
	}
}
