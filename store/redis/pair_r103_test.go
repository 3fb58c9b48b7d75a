package redis

import (
	"testing"
	"time"

	"github.com/creditgate/creditgate/store"
)

// A spare slot is kept under the pair app+"\x00"+class. Names are any
// bytes (the keys are base64), so app "a" with class "b\x00c" and app
// "a\x00b" with class "c" share a pair: the second takes the first's
// spare, a unit of app a's key, and runs with nothing counted in its own
// application's key. Another instance then admits a second call of
// "a\x00b" on a cap of 1.
func TestSparePairNamesCollide_r103(t *testing.T) {
	c := client(t, shared.addr())
	prefix := "r103pair" + time.Now().Format("150405.000000") + ":"
	a := newStore(t, c, WithPrefix(prefix), WithCreditLeasing(64))
	b := newStore(t, c, WithPrefix(prefix))
	p := store.Plan{Name: "free", Credits: 1 << 20, Window: time.Hour, Concurrency: 1}
	pf := func(string) *store.Plan { return &p }
	take := func(s *Store, app, class string) (*Lease, store.Decision) {
		var l Lease
		var d store.Decision
		s.Take(time.Now(), &store.Request{Tenant: "t", App: app, Class: class, Credits: 1}, pf, &l, &d)
		return &l, d
	}
	l, d := take(a, "a", "b\x00c")
	if !d.Allowed {
		t.Fatalf("first call: %+v", d)
	}
	a.Release(l) // kept as a spare of the pair "a\x00b\x00c"
	l1, d := take(a, "a\x00b", "c")
	if !d.Allowed {
		t.Fatalf("a's call of app a\\x00b: %+v", d)
	}
	defer a.Release(l1)
	l2, d := take(b, "a\x00b", "c")
	if d.Allowed {
		defer b.Release(l2)
		t.Fatalf("app \"a\\x00b\" (cap 1): two calls in flight, both admitted; its key holds %d units (a's lease member %q, key %q)",
			c.ZCard(t.Context(), newTenant(prefix, "t").appKey("a\x00b")).Val(), l1.member, l1.akey)
	}
}
