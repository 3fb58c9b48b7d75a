package usage

import (
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"
)

// Reviewer-84: a call's corrections land where the call did with one
// tenant's calls spread over several buffers, as the limiter records them (a buffer per
// P, the call's corrections in its buffer): four goroutines record calls
// of one population past the cap, each into its own buffer, while another
// aggregates. At each hour's end a tenant's row holds exactly its calls
// of the hour with their corrections, or Other holds them.
func TestPlacementEachHourInOneRowConcurrent(t *testing.T) {
	u := newStats(t, time.Hour, 10)
	at := func(h int) time.Time { return t0.Add(time.Duration(h) * time.Hour) }
	names := make([]string, 2400)
	for i := range names {
		names[i] = hostileName(i)
	}
	for hour := range 5 {
		var wg sync.WaitGroup
		models := make([]map[string]Count, 4)
		stop := make(chan struct{})
		done := make(chan struct{})
		go func() {
			defer close(done)
			for {
				select {
				case <-stop:
					return
				default:
					u.TenantRows(at(hour), at(hour+1))
				}
			}
		}()
		for g := range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				r := rand.New(rand.NewPCG(uint64(hour), uint64(g)))
				buf := uint64(g) << 32
				model := map[string]Count{}
				models[g] = model
				type call struct {
					tenant  string
					credits int64
				}
				var open []call
				add := func(tenant string, c Count) {
					x := model[tenant]
					x.Add(c)
					model[tenant] = x
				}
				for range 4_000 {
					switch n := r.IntN(10); {
					case n < 2 && len(open) > 0:
						i := r.IntN(len(open))
						c := open[i]
						open = slices.Delete(open, i, i+1)
						u.RefuseIn(buf, &Event{At: at(hour), Tenant: c.tenant, App: "a", Credits: c.credits})
						add(c.tenant, Count{Credits: -c.credits, Calls: -1, Refused: 1})
					case n < 3 && len(open) > 0:
						c := &open[r.IntN(len(open))]
						d := r.Int64N(2*c.credits+1) - c.credits
						u.SettleIn(buf, at(hour), c.tenant, "a", d)
						c.credits += d
						add(c.tenant, Count{Credits: d})
					default:
						c := call{tenant: names[(400*hour+r.IntN(1400))%len(names)], credits: 1 + r.Int64N(9)}
						if recordIn(u, buf, at(hour), c.tenant, "a", "", "", "", "", c.credits, false) {
							c.tenant = Other // folded as recorded: so are its corrections
						}
						open = append(open, c)
						add(c.tenant, Count{Credits: c.credits, Calls: 1})
					}
				}
			}()
		}
		wg.Wait()
		close(stop)
		<-done
		byKey := map[string]Count{}
		var sum, all Count
		for _, m := range models {
			for tenant, c := range m {
				k := tenantKey(tenant)
				x := byKey[k]
				x.Add(c)
				byKey[k] = x
				sum.Add(c)
			}
		}
		for _, c := range u.TenantRows(at(hour), at(hour+1)) {
			k := c.Key
			c.Key = ""
			all.Add(c)
			if k != Other && c != byKey[k] {
				t.Errorf("hour %d: %q's row %+v, its calls %+v", hour, k, c, byKey[k])
			}
		}
		if all != sum {
			t.Fatalf("hour %d: rows add to %+v, the calls to %+v", hour, all, sum)
		}
	}
}
