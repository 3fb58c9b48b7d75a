package usage

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"
)

// A tenant's calls of one hour are all in its own row or all in Other's,
// never split, so that a correction (a refusal, a settle) of any of them
// lands where its call did. Here a tenant's call is folded into Other as
// it is recorded (DefaultTenants kept), a prune then makes room, and the
// same tenant's next call of the hour makes it a row: before, that call
// counted in the new row and the first call's refusal (or settle) went
// there too, leaving the row with 0 calls and -2 credits while Other kept
// the refused call and its 7 credits.
func TestCorrectionOfFoldedCallAfterRowMade(t *testing.T) {
	for _, kind := range []string{"refuse", "settle"} {
		t.Run(kind, func(t *testing.T) {
			u := newStats(t, time.Hour, 10) // one hour kept
			t1 := t0.Add(time.Hour)
			for i := range DefaultTenants + 1 { // the last one is Other
				record(u, t0, fmt.Sprintf("old%d", i), "a", "", "", "", "", 1, false)
			}
			record(u, t1, "old0", "a", "", "", "", "", 1, false) // the hour's first event
			u.Rows("old0", App, t1, t1.Add(time.Hour), 5)        // aggregated: the filter is full
			x := filteredName(t, u, true)
			record(u, t1, x, "a", "", "", "", "", 7, false) // folded as recorded: Other's; the hour's second event prunes t0
			u.Rows("old0", App, t1, t1.Add(time.Hour), 5)
			if u.filter.full.Load() {
				t.Fatal("the prune made no room")
			}
			record(u, t1, x, "a", "", "", "", "", 5, false) // not folded: room
			u.Rows("old0", App, t1, t1.Add(time.Hour), 5)
			want := Count{Credits: 5, Calls: 1, Refused: 1} // x's two calls, the first refused
			if kind == "refuse" {
				u.Refuse(Event{At: t1, Tenant: x, App: "a", Credits: 7})
			} else {
				u.Settle(t1, x, "a", -3) // the first call cost 4, not 7
				want = Count{Credits: 9, Calls: 2}
			}
			var all Count
			for _, c := range u.TenantRows(t1, t1.Add(time.Hour)) {
				if c.Credits < 0 || c.Calls < 0 {
					t.Errorf("row %+v below zero", c)
				}
				if c.Key == x && c.Credits+c.Calls+c.Refused != 0 {
					t.Errorf("x's row %+v, want its hour in Other's with the call folded before it", c)
				}
				if c.Key != "old0" {
					all.Add(c)
				}
			}
			if all != want {
				t.Errorf("x's calls add to %+v, want %+v", all, want)
			}
		})
	}
}

// A property of placement past the cap, against a model of the calls:
// random calls of a population of 1,200 tenants (more than DefaultTenants)
// that moves on by 300 every hour, with one hour retained, so that each
// hour's prune makes room while calls recorded before it folded; random
// refusals and settles of the hour's calls, dated at the call's hour, and
// queries in between (which aggregate). After every query, each row
// counts no fewer than zero calls and credits in the hour (a correction
// that missed its call's row takes them below), and the rows add up to
// the model's sums of the hour's calls.
func TestPlacementPastTheCapProperty(t *testing.T) {
	for seed := range uint64(8) {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			r := rand.New(rand.NewPCG(seed, 7))
			u := newStats(t, time.Hour, 10)
			type call struct {
				tenant  string
				credits int64
			}
			var open []call // the hour's, not yet refused
			var sum Count   // the hour's
			hour := 0
			at := func(h int) time.Time { return t0.Add(time.Duration(h) * time.Hour) }
			check := func() {
				var all Count
				for _, c := range u.TenantRows(at(hour), at(hour+1)) {
					if c.Calls < 0 || c.Credits < 0 || c.Refused < 0 {
						t.Fatalf("hour %d: row %+v below zero", hour, c)
					}
					c.Key = ""
					all.Add(c)
				}
				if all != sum {
					t.Fatalf("hour %d: rows add to %+v, the calls to %+v", hour, all, sum)
				}
			}
			for range 40_000 {
				switch n := r.IntN(4000); {
				case n < 1:
					check()
					hour++
					open, sum = nil, Count{}
				case n < 320 && len(open) > 0: // a refusal
					i := r.IntN(len(open))
					c := open[i]
					open = slices.Delete(open, i, i+1)
					u.Refuse(Event{At: at(hour), Tenant: c.tenant, App: "a", Credits: c.credits})
					sum.Add(Count{Credits: -c.credits, Calls: -1, Refused: 1})
				case n < 640 && len(open) > 0: // a settle, to between 0 and twice the cost
					i := r.IntN(len(open))
					d := r.Int64N(2*open[i].credits+1) - open[i].credits
					u.Settle(at(hour), open[i].tenant, "a", d)
					open[i].credits += d
					sum.Add(Count{Credits: d})
				case n < 680:
					check()
				default:
					c := call{tenant: fmt.Sprintf("tenant-%05d", 300*hour+r.IntN(1200)), credits: 1 + r.Int64N(9)}
					record(u, at(hour), c.tenant, "a", "", "", "", "", c.credits, false)
					open = append(open, c)
					sum.Add(Count{Credits: c.credits, Calls: 1})
				}
			}
			check()
		})
	}
}

// The same property with calls recorded by four goroutines while another
// aggregates (queries): a row made while calls of its tenant fold as they
// are recorded must still take none of their corrections (see foldsAt).
// Each goroutine corrects only its own calls, in its own buffers' order.
func TestPlacementPastTheCapConcurrent(t *testing.T) {
	u := newStats(t, time.Hour, 10)
	at := func(h int) time.Time { return t0.Add(time.Duration(h) * time.Hour) }
	for hour := range 6 {
		var wg sync.WaitGroup
		sums := make([]Count, 4)
		stop := make(chan struct{})
		done := make(chan struct{})
		go func() { // the aggregator, as queries run it
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
				type call struct {
					tenant  string
					credits int64
				}
				var open []call
				for range 5_000 {
					switch n := r.IntN(10); {
					case n < 2 && len(open) > 0:
						i := r.IntN(len(open))
						c := open[i]
						open = slices.Delete(open, i, i+1)
						u.Refuse(Event{At: at(hour), Tenant: c.tenant, App: "a", Credits: c.credits})
						sums[g].Add(Count{Credits: -c.credits, Calls: -1, Refused: 1})
					case n < 3 && len(open) > 0:
						i := r.IntN(len(open))
						d := r.Int64N(2*open[i].credits+1) - open[i].credits
						u.Settle(at(hour), open[i].tenant, "a", d)
						open[i].credits += d
						sums[g].Add(Count{Credits: d})
					default:
						// Tenants of each goroutine's own, so that a
						// correction follows its call in one buffer.
						c := call{tenant: fmt.Sprintf("g%d-%05d", g, 75*hour+r.IntN(300)), credits: 1 + r.Int64N(9)}
						record(u, at(hour), c.tenant, "a", "", "", "", "", c.credits, false)
						open = append(open, c)
						sums[g].Add(Count{Credits: c.credits, Calls: 1})
					}
				}
			}()
		}
		wg.Wait()
		close(stop)
		<-done
		var want, all Count
		for _, s := range sums {
			want.Add(s)
		}
		for _, c := range u.TenantRows(at(hour), at(hour+1)) {
			if c.Calls < 0 || c.Credits < 0 || c.Refused < 0 {
				t.Fatalf("hour %d: row %+v below zero", hour, c)
			}
			c.Key = ""
			all.Add(c)
		}
		if all != want {
			t.Fatalf("hour %d: rows add to %+v, the calls to %+v", hour, all, want)
		}
	}
}
