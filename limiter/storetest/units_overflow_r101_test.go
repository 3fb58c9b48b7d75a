package storetest_test

import (
	"math"
	"testing"
	"time"

	"github.com/creditgate/creditgate/limiter/storetest"
	"github.com/creditgate/creditgate/store"
	"github.com/creditgate/creditgate/store/memory"
)

// A call of math.MaxInt64 units beside one unit held is more units than
// the cap (store.Request: "refused for concurrency every time"): a store
// must not add them to what is held and wrap below the cap.
func unitsOverflow[L any](t *testing.T, s store.Store[L]) {
	p := store.Plan{Name: "p", Credits: 100, Window: time.Hour, Concurrency: 2}
	pf := func(string) *store.Plan { return &p }
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var held L
	var d store.Decision
	s.Take(t0, &store.Request{Tenant: "t", App: "a", Credits: 1}, pf, &held, &d)
	if !d.Allowed {
		t.Fatalf("one unit of 2 refused: %+v", d)
	}
	for _, n := range []int64{math.MaxInt64, math.MaxInt64 - 1} {
		var l L
		s.Take(t0, &store.Request{Tenant: "t", App: "a", Credits: 1, Units: n}, pf, &l, &d)
		if d.Allowed || d.Reason != store.ReasonConcurrency {
			t.Errorf("%d units beside 1 held of 2: allowed %v, reason %v", n, d.Allowed, d.Reason)
			if d.Allowed {
				s.Release(&l)
			}
		}
	}
	s.Release(&held)
}

func TestUnitsOverflow_r101(t *testing.T) {
	t.Run("reference", func(t *testing.T) { unitsOverflow(t, store.Store[storetest.RefLease](storetest.NewReference())) })
	t.Run("memory", func(t *testing.T) { unitsOverflow(t, store.Store[memory.Lease](memory.New())) })
}
