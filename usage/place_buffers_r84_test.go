package usage

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"
)

// Reviewer-84: a call's corrections land where the call did, checked
// exactly: after every query, a tenant's row in an hour holds all of the
// tenant's calls of that hour that RecordIn did not fold (with their
// corrections, which name the tenant), as the model sums them, or the
// tenant has no row there and Other holds them; folded calls and their
// corrections (which name Other) are Other's. Calls of a population
// past the cap that moves on each hour, two hours retained, some calls
// late (dated the hour before), each call recorded into one of eight
// buffers with its corrections after it in the same one (as the limiter
// spreads a tenant's calls over per-P buffers), hostile names (not UTF-8,
// longer than MaxKeyBytes, "other") among them.
func TestPlacementEachHourInOneRow(t *testing.T) {
	for seed := range uint64(4) {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			r := rand.New(rand.NewPCG(seed, 84))
			u := newStats(t, 2*time.Hour, 10)
			at := func(h int) time.Time {
				return t0.Add(time.Duration(h)*time.Hour + time.Duration(r.IntN(3600))*time.Second)
			}
			names := map[int]string{} // each tenant's name as the same string every time, as a client's
			name := func(i int) string {
				if s, ok := names[i]; ok {
					return s
				}
				s := hostileName(i)
				names[i] = s
				return s
			}
			type key struct {
				tenant string
				hour   int
			}
			type call struct {
				key
				buf     uint64
				credits int64
			}
			model := map[key]Count{}
			var open []call
			hour := 0
			check := func() {
				for h := max(hour-1, 0); h <= hour; h++ {
					var sum, all Count
					byKey := map[string]Count{}
					for k, c := range model {
						if k.hour == h {
							sum.Add(c)
							kk := tenantKey(k.tenant)
							x := byKey[kk]
							x.Add(c)
							byKey[kk] = x
						}
					}
					for _, c := range u.TenantRows(t0.Add(time.Duration(h)*time.Hour), t0.Add(time.Duration(h+1)*time.Hour)) {
						k := c.Key
						c.Key = ""
						all.Add(c)
						if k != Other && c != byKey[k] {
							t.Fatalf("hour %d: %q's row %+v, its calls %+v", h, k, c, byKey[k])
						}
					}
					if all != sum {
						t.Fatalf("hour %d: rows add to %+v, the calls to %+v", h, all, sum)
					}
				}
			}
			for range 30_000 {
				switch n := r.IntN(1000); {
				case n < 1:
					check()
					hour++
					open = slices.DeleteFunc(open, func(c call) bool { return c.hour < hour-1 })
					for k := range model {
						if k.hour < hour-1 {
							delete(model, k)
						}
					}
				case n < 80 && len(open) > 0:
					i := r.IntN(len(open))
					c := open[i]
					open = slices.Delete(open, i, i+1)
					u.RefuseIn(c.buf, &Event{At: at(c.hour), Tenant: c.tenant, App: "a", Credits: c.credits})
					x := model[c.key]
					x.Add(Count{Credits: -c.credits, Calls: -1, Refused: 1})
					model[c.key] = x
				case n < 160 && len(open) > 0:
					c := &open[r.IntN(len(open))]
					d := r.Int64N(2*c.credits+1) - c.credits
					u.SettleIn(c.buf, at(c.hour), c.tenant, "a", d)
					c.credits += d
					x := model[c.key]
					x.Add(Count{Credits: d})
					model[c.key] = x
				case n < 175:
					check()
				default:
					tenant, buf := name(400*hour+r.IntN(1400)), uint64(r.IntN(8))<<32
					hours := []int{hour}
					switch m := r.IntN(20); {
					case hour > 0 && m < 2:
						hours[0]-- // late
					case hour > 0 && m < 3:
						hours = []int{hour - 1, hour} // a late call, then one of the hour, in one buffer
					}
					for _, h := range hours {
						c := call{key: key{tenant, h}, buf: buf, credits: 1 + r.Int64N(9)}
						if recordIn(u, c.buf, at(h), c.tenant, "a", "", "", "", "", c.credits, false) {
							c.tenant = Other // folded as recorded: so are its corrections
						}
						open = append(open, c)
						x := model[c.key]
						x.Add(Count{Credits: c.credits, Calls: 1})
						model[c.key] = x
					}
				}
			}
			check()
		})
	}
}

// hostileName is tenant i's name: mostly plain, some not UTF-8, some
// longer than MaxKeyBytes, one "other".
func hostileName(i int) string {
	switch {
	case i%97 == 0:
		return fmt.Sprintf("bad-%d\xff", i)
	case i%89 == 0:
		return fmt.Sprintf("long-%d-", i) + strings.Repeat("z", MaxKeyBytes)
	case i%1009 == 0:
		return Other
	}
	return fmt.Sprintf("t-%05d", i)
}
