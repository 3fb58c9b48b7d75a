// Package storetest is the conformance suite every store.Store must pass,
// and Reference, the simple store that is the suite's second subject and the
// model of the property tests.
//
// The suite drives stores with explicit times (a fake clock), so a store
// that keeps time on a server must honour the now it is given while tested.
// It allows a store to give credits back up to a slot's width late (as a
// rolling window of slots does): its checks stay a margin away from the
// instants where that could matter.
package storetest

import (
	"testing"
	"time"

	"github.com/creditgate/creditgate/store"
)

// T0 is the suite's start time: not zero, since zero times are sentinels.
var T0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// Plan is the plan the suite gives every tenant unless a test says
// otherwise: 100 credits an hour, 2 in flight per application, 1 per bulk.
func Plan() store.Plan {
	return store.Plan{Name: "storetest", Window: time.Hour, Credits: 100, Concurrency: 2,
		SubConcurrency: map[string]int64{"bulk": 1}}
}

// Config says how to make the stores under test.
type Config[L any] struct {
	// New returns an empty store; each test gets its own.
	New func() store.Store[L]
	// Bounded, if not nil, returns an empty store that holds at most n
	// tenants, evicting idle ones (nothing in flight, every window full) to
	// make room and refusing with store.ReasonTenants when none is idle.
	// The suite then checks the bound and eviction racing admissions.
	Bounded func(n int) store.Store[L]
}

type storeTest[L any] struct {
	name string
	fn   func(*testing.T, store.Store[L])
}

// Run runs every conformance test on the stores c makes.
func Run[L any](t *testing.T, c Config[L]) {
	tests := []storeTest[L]{
		{"AllOrNothing", testAllOrNothing[L]},
		{"SharedPool", testSharedPool[L]},
		{"SubConcurrency", testSubConcurrency[L]},
		{"Units", testUnits[L]},
		{"UnitsOverCap", testUnitsOverCap[L]},
		{"UnitsWithClass", testUnitsWithClass[L]},
		{"Keep", testKeep[L]},
		{"WindowReturns", testWindowReturns[L]},
		{"SettleRefund", testSettleRefund[L]},
		{"SettleCharge", testSettleCharge[L]},
		{"SettleExact", testSettleExact[L]},
		{"Charge", testCharge[L]},
		{"Peek", testPeek[L]},
		{"PlanFigures", testPlanFigures[L]},
		{"PlanFiguresPool", testPlanFiguresPool[L]},
		{"SettleFigures", testSettleFigures[L]},
		{"SetPlan", testSetPlan[L]},
		{"SetPlanWindow", testSetPlanWindow[L]},
		{"Calendar", testCalendar[L]},
		{"Compound", testCompound[L]},
		{"CompoundPartial", testCompoundPartial[L]},
		{"CompoundPartialThree", testCompoundPartialThree[L]},
		{"ClockBackwards", testClockBackwards[L]},
		{"ClockJumps", testClockJumps[L]},
		{"TenantsIsolated", testIsolated[L]},
		{"ConcurrentCap", testConcurrentCap[L]},
		{"ConcurrentUnits", testConcurrentUnits[L]},
		{"ExactFigures", testExactFigures[L]},
		{"ConcurrentSettles", testConcurrentSettles[L]},
		{"SetPlanRacesAdmissions", testSetPlanRaces[L]},
		{"Alerts", testAlerts[L]},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, c.New()) })
	}
	t.Run("Snapshot", func(t *testing.T) { testSnapshot(t, c.New) })
	if c.Bounded != nil {
		t.Run("Bounded", func(t *testing.T) { testBounded(t, c.Bounded) })
		t.Run("EvictionRace", func(t *testing.T) { testEvictionRace(t, c.Bounded) })
	}
}

func planFor(p store.Plan) store.PlanFunc {
	return func(string) *store.Plan { return &p }
}

var defaultPlan = planFor(Plan())

// take asks s to admit req at at with the suite's plan and checks the reason.
func take[L any](t *testing.T, s store.Store[L], at time.Time, req store.Request, want store.Reason) (*L, store.Decision) {
	t.Helper()
	return takeWith(t, s, defaultPlan, at, req, want)
}

func takeWith[L any](t *testing.T, s store.Store[L], plans store.PlanFunc, at time.Time, req store.Request, want store.Reason) (*L, store.Decision) {
	t.Helper()
	l := new(L)
	var d store.Decision
	s.Take(at, &req, plans, l, &d)
	if d.Reason != want || d.Allowed != (want == store.ReasonNone) {
		t.Fatalf("Take(%+v) at T0+%v = %+v, want reason %v", req, at.Sub(T0), d, want)
	}
	if want != store.ReasonTenants && d.Window != plans(req.Tenant).WindowLength() {
		t.Fatalf("Take(%+v).Window = %v, want the plan's %v", req, d.Window, plans(req.Tenant).WindowLength())
	}
	return l, d
}

// remaining checks what Peek says tenant has left at at.
func remaining[L any](t *testing.T, s store.Store[L], at time.Time, tenant string, want int64) {
	t.Helper()
	if d := s.Peek(at, tenant, 0, defaultPlan); d.Remaining != want || d.Window != Plan().Window {
		t.Fatalf("remaining of %s at T0+%v = %d, want %d (%+v)", tenant, at.Sub(T0), d.Remaining, want, d)
	}
}

func req(tenant, app string, credits int64) store.Request {
	return store.Request{Tenant: tenant, App: app, Credits: credits}
}
