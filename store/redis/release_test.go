package redis

import (
	"testing"
	"time"

	"github.com/creditgate/creditgate/store"
)

// A take carries this instance's releases of its own slots in its script;
// when the script sends the take back for another plan (one SetPlan stored
// through another instance), those releases still happen: before, they
// were dropped with the bounced run, and the slot stayed held until its
// lease expired (30 s by default), refusing the application meanwhile.
func TestReleaseSurvivesPlanBounce(t *testing.T) {
	c := client(t, shared.addr())
	prefix := "bounce" + time.Now().Format("150405.000000") + ":"
	a := newStore(t, c, WithPrefix(prefix))
	b := newStore(t, c, WithPrefix(prefix))
	p := store.Plan{Credits: 100, Window: time.Hour, Concurrency: 1}
	pf := func(string) *store.Plan { return &p }
	var l Lease
	var d store.Decision
	a.Take(time.Now(), &store.Request{Tenant: "t", App: "x", Credits: 1}, pf, &l, &d)
	if !d.Allowed {
		t.Fatalf("first take: %+v", d)
	}
	a.rel.armed.Store(true) // the flusher stays asleep: the release rides with a's next take
	a.Release(&l)
	up := p
	up.Credits = 200
	if err := b.SetPlan(time.Now(), "t", &up); err != nil {
		t.Fatal(err)
	}
	a.Take(time.Now(), &store.Request{Tenant: "t", App: "x", Credits: 1}, pf, &l, &d)
	if !d.Allowed || d.Limit != 200 {
		t.Fatalf("the released slot is still held after the take switched plans: %+v", d)
	}
	a.Release(&l)
}
