package redis

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/creditgate/creditgate/store"
)

// A refused take of several units marks its application with a field of
// the tenant's hash for one lease TTL (see L.marked). The mark lapses only
// when an admitted take or a renewal of that same application reads it:
// an application that is not used again leaves its field in the tenant's
// hash for as long as the tenant lives (its other applications keep the
// hash alive). A client cycling through application names (client ids)
// grows the hash without bound: one field per application ever marked.
func TestMarksLapse_r103(t *testing.T) {
	c := client(t, shared.addr())
	prefix := "r103marks" + time.Now().Format("150405.000000") + ":"
	ttl := 30 * time.Millisecond
	s := newStore(t, c, WithPrefix(prefix), WithLeaseTTL(ttl))
	p := store.Plan{Name: "free", Credits: 1 << 20, Window: time.Hour, Concurrency: 5}
	pf := func(string) *store.Plan { return &p }
	take := func(app string, units int64) (*Lease, store.Decision) {
		var l Lease
		var d store.Decision
		s.Take(time.Now(), &store.Request{Tenant: "t", App: app, Credits: 1, Units: units}, pf, &l, &d)
		return &l, d
	}
	const apps = 50
	for i := range apps {
		app := "app" + strconv.Itoa(i)
		l1, d := take(app, 1)
		if !d.Allowed {
			t.Fatalf("%s: one unit refused: %+v", app, d)
		}
		if _, d = take(app, 5); d.Allowed || d.Reason != store.ReasonConcurrency {
			t.Fatalf("%s: 5 units with 1 in flight on a cap of 5: %+v", app, d)
		}
		s.Release(l1)
	}
	time.Sleep(5 * ttl) // every mark has lapsed
	for range 5 {       // the tenant goes on, with another application
		l, d := take("other", 1)
		if !d.Allowed {
			t.Fatalf("other app refused: %+v", d)
		}
		s.Release(l)
		time.Sleep(ttl)
	}
	kw := windowKey(s, "t")
	marks := 0
	for _, f := range c.HKeys(t.Context(), kw).Val() {
		if strings.HasPrefix(f, "m:") {
			marks++
		}
	}
	if ks := c.Keys(t.Context(), globEscape(prefix)+"*:m").Val(); len(ks) > 0 {
		marks += len(ks)
	}
	if marks > 0 {
		t.Fatalf("%d lapsed marks still in the tenant's hash (or keys) %s after %d applications were marked once (HLEN %d)",
			marks, kw, apps, c.HLen(t.Context(), kw).Val())
	}
}
