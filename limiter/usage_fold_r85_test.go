package limiter

import (
	"fmt"
	"testing"
	"time"

	"github.com/creditgate/creditgate/usage"
)

// Reviewer-85: a call whose tenant's name is not valid UTF-8 (9 to 16
// bytes, the filter's inline lookup, and 5 bytes, through has), folded
// into Other as recorded past the cap, has its settle counted under Other
// as well, even after its tenant gets a row (under a changed key) later in
// the hour; and a tenant named "other" is Other's row, corrections too.
func TestCorrectionsOfAFoldedInvalidNameCountUnderOther(t *testing.T) {
	t0 := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	t1 := t0.Add(time.Hour)
	for _, tenant := range []string{"bad\xffname12", "b\xfe\xff!!", usage.Other} {
		t.Run(fmt.Sprintf("%q", tenant), func(t *testing.T) {
			u := fullUsage(t, t0, t1)
			l := mustNew(t, Plan{Name: "t", Credits: 1 << 20, Concurrency: 4}, WithUsage(u))
			req := Request{Tenant: tenant, App: "a", Credits: 3}
			tk, d := l.Acquire(t1, req) // folded as recorded
			if !d.Allowed {
				t.Fatal(d)
			}
			u.Record(usage.Event{At: t1, Tenant: "old1", App: "a", Credits: 1}) // the prune: room
			u.Tenants()
			tk2, _ := l.Acquire(t1, req) // the tenant's row (Other's, for "other")
			tk2.Release()
			tk.Settle(t1, 5)
			tk.Release()
			want := map[string]usage.Count{usage.Other: {Key: usage.Other, Credits: 5, Calls: 1},
				"old0": {Key: "old0", Credits: 1, Calls: 1}, "old1": {Key: "old1", Credits: 1, Calls: 1}}
			if tenant == usage.Other {
				want[usage.Other] = usage.Count{Key: usage.Other, Credits: 8, Calls: 2}
			}
			rows := u.TenantRows(t1, t1.Add(time.Hour))
			for _, c := range rows {
				if name, _ := u.TenantName(c.Key); name == tenant && tenant != usage.Other {
					if c != (usage.Count{Key: c.Key, Credits: 3, Calls: 1}) {
						t.Errorf("the tenant's row %+v, want 1 call of 3 credits", c)
					}
					continue
				}
				if c != want[c.Key] {
					t.Errorf("row %+v, want %+v", c, want[c.Key])
				}
			}
			if n := len(want) + 1; tenant == usage.Other && len(rows) != n-1 || tenant != usage.Other && len(rows) != n {
				t.Errorf("rows %+v, want %v and the tenant's", rows, want)
			}
		})
	}
}
