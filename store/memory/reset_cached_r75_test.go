package memory

import (
	"fmt"
	"testing"
	"time"

	"github.com/creditgate/creditgate/store"
)

// TestResetCachedIsWalked: an admission's Reset, whether built from the
// cached instant (2608dce) or walked, is the instant the tenant's windows
// report walked at the same now, in now's location, for a rolling pool, a
// calendar pool and a compound plan, with now in UTC, Local, a fixed zone
// and with a monotonic reading, and across a plan change that replaces the
// windows (the replacingReset mark) and one that sets the pool in place.
func TestResetCachedIsWalked(t *testing.T) {
	la, err := time.LoadLocation("America/Los_Angeles")
	if err != nil {
		la = time.FixedZone("PST", -8*3600)
	}
	rolling := store.Plan{Name: "r", Credits: 50, Window: time.Minute, Concurrency: 4}
	calendar := store.Plan{Name: "c", Credits: 50, Window: 24 * time.Hour, Concurrency: 4,
		Calendar: &store.Calendar{Reset: time.Hour, Location: la}}
	compound := store.Plan{Name: "x", Credits: 50, Window: time.Hour, Concurrency: 4,
		Extra: []store.WindowLimit{{Credits: 7, Window: 10 * time.Second}}}
	reshaped := store.Plan{Name: "y", Credits: 40, Window: 2 * time.Minute, Concurrency: 4}
	mono := time.Now() // has a monotonic reading, kept by Add
	bases := map[string]time.Time{
		"utc":   foldT0,
		"local": foldT0.Local(),
		"fixed": foldT0.In(time.FixedZone("X", 5*3600+1800)),
		"la":    foldT0.In(la),
		"mono":  mono,
	}
	for bn, base := range bases {
		for _, p := range []store.Plan{rolling, calendar, compound} {
			t.Run(fmt.Sprint(bn, "/", p.Name), func(t *testing.T) {
				s := New()
				p := p
				plans := func(string) *store.Plan { return &p }
				var l Lease
				for i := range 60 {
					now := base.Add(time.Duration(i) * 1500 * time.Millisecond)
					switch i {
					case 20: // same shape: the pool's limit in place
						q := p
						q.Credits = 30
						if err := s.SetPlan(now, "k", &q); err != nil {
							t.Fatal(err)
						}
					case 40: // new windows: the old ones are marked
						if err := s.SetPlan(now, "k", &reshaped); err != nil {
							t.Fatal(err)
						}
					}
					var d store.Decision
					s.Take(now, &store.Request{Tenant: "k", App: "a", Credits: 1 + int64(i%2)}, plans, &l, &d)
					if !d.Allowed {
						continue
					}
					s.Release(&l)
					walked := s.lookup("k").wins.Load().all().ResetAt(now)
					if !d.Reset.Equal(walked) || d.Reset.Location() != now.Location() {
						t.Fatalf("take %d at %v: Reset %v (%v), walked %v (%v)", i, now, d.Reset, d.Reset.Location(), walked, walked.Location())
					}
				}
			})
		}
	}
}
