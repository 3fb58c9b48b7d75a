package gateway

import (
	"fmt"
	"reflect"
	"testing"
	"time"
)

// overrides counts the plans the limiter keeps per tenant (SetPlan's
// overrides), read through reflection: the limiter does not export them.
func overrides(t *testing.T, g *Gateway) int {
	t.Helper()
	v := reflect.ValueOf(g.l).Elem().FieldByName("overrides")
	if !v.IsValid() || v.Kind() != reflect.Map {
		t.Skip("the limiter keeps no overrides map to count")
	}
	return v.Len()
}

// Tenants come and go (clients name them; the store folds idle ones and
// drops them once their credits are back), and plan-changing reloads come
// now and then: what the gateway keeps per tenant across reloads must stay
// bounded by the tenants the store holds (limits.max_tenants and
// max_bytes), not grow with every tenant ever present at a reload. Time
// is the test's: each cycle is two windows after the last.
func TestReloadsDoNotPinEveryTenant(t *testing.T) {
	up := upstream(t)
	conf := func(credits int) string {
		return "upstream: " + up.URL + "\nlimits: {max_tenants: 16}\n" +
			fmt.Sprintf("plan: {credits: %d, window: 1m, concurrency: 5}\n", credits)
	}
	g := newGateway(t, conf(1000))
	base := time.Now()
	for cycle := range 12 {
		now := base.Add(time.Duration(cycle) * 2 * time.Minute)
		for i := range 24 { // fresh tenants: the store drops the older ones
			g.l.Charge(now, fmt.Sprintf("c%d-t%d", cycle, i), 1)
		}
		if err := g.Reload(effective(t, conf(1000+1000*((cycle+1)%2)))); err != nil { // the default plan changes
			t.Fatal(err)
		}
		held := 0
		for range g.st.Tenants() {
			held++
		}
		if n := overrides(t, g); n > held {
			t.Fatalf("after %d reloads: the limiter keeps plans for %d tenants, the store holds %d",
				cycle+1, n, held)
		}
	}
}
