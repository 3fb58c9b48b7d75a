package limiter

import (
	"bytes"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/creditgate/creditgate/store/memory"
)

// A snapshot restored into a limiter of the same plans gives every tenant
// the same pool, Used and reset as the original from then on: plans with
// calendar pools across a DST change (New York's spring and autumn, Lord
// Howe's half hour), calendar and rolling extra windows, and tenants given
// other plans with SetPlan (which the restoring limiter also sets).
func TestSnapshotRoundTripCalendars(t *testing.T) {
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Skip(err)
	}
	lh, err := time.LoadLocation("Australia/Lord_Howe")
	if err != nil {
		t.Skip(err)
	}
	plans := []Plan{
		{Name: "daily-ny", Credits: 100, Concurrency: 5, Window: 24 * time.Hour, Calendar: &Calendar{Location: ny, Reset: 2*time.Hour + 30*time.Minute}},
		{Name: "hourly-lh", Credits: 50, Concurrency: 5, Window: time.Hour, Calendar: &Calendar{Location: lh}},
		{Name: "rolling-extra", Credits: 200, Concurrency: 5, Extra: []WindowLimit{
			{Credits: 30, Window: time.Hour, Calendar: &Calendar{Location: ny}},
			{Credits: 60, Window: 3 * time.Hour},
		}},
		{Name: "weekly-lh-extra", Credits: 300, Concurrency: 5, Window: 7 * 24 * time.Hour, Calendar: &Calendar{Location: lh, Reset: 2 * time.Hour},
			Extra: []WindowLimit{{Credits: 40, Window: 30 * time.Minute, Calendar: &Calendar{Location: lh}}}},
	}
	for _, base := range []time.Time{
		time.Date(2026, 3, 7, 20, 0, 0, 0, ny), // New York springs forward on 8 March
		time.Date(2026, 10, 31, 20, 0, 0, 0, ny),
		time.Date(2026, 4, 4, 20, 0, 0, 0, lh), // Lord Howe goes back half an hour on 5 April
	} {
		for seed := range uint64(8) {
			rng := rand.New(rand.NewPCG(seed, 544))
			def := plans[rng.IntN(len(plans))]
			tenants := []string{"a", "b", "c", "d"}
			set := map[string]Plan{}
			for _, tn := range tenants[:2] {
				set[tn] = plans[rng.IntN(len(plans))]
			}
			mk := func() *Limiter {
				l := mustNew(t, def, withMem(memory.WithSlots(48)))
				for tn, p := range set {
					if err := l.SetPlanAt(base, tn, p); err != nil {
						t.Fatal(err)
					}
				}
				return l
			}
			a := mk()
			now := base
			for range 60 {
				now = now.Add(time.Duration(rng.Int64N(int64(40 * time.Minute))))
				tk, _ := a.Acquire(now, Request{Tenant: tenants[rng.IntN(len(tenants))], App: "x", Credits: 1 + rng.Int64N(12)})
				tk.Release()
			}
			var buf bytes.Buffer
			if err := a.SnapshotAt(now, &buf); err != nil {
				t.Fatal(err)
			}
			b := mk()
			if err := b.RestoreAt(now, bytes.NewReader(buf.Bytes())); err != nil {
				t.Fatal(err)
			}
			for _, d := range []time.Duration{0, time.Minute, 25 * time.Minute, time.Hour, 90 * time.Minute, 5 * time.Hour, 26 * time.Hour} {
				when := now.Add(d)
				for _, tn := range tenants {
					da, db := a.Peek(when, tn), b.Peek(when, tn)
					if da.Remaining != db.Remaining || da.Limit != db.Limit || da.Used != db.Used || !da.Reset.Equal(db.Reset) {
						t.Fatalf("base %v seed %d +%v %s (%s): original %+v, restored %+v", base, seed, d, tn, a.Plan(tn).Name, da, db)
					}
				}
			}
		}
	}
}
