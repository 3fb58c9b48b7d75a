package usage

import (
	"fmt"
	"math"
	"testing"
	"time"
)

// Reviewer-86 (before session 20 too): a query over two hours, one whose
// credits saturated at MaxInt64 and one at MinInt64, sums the hours in map
// order, and a saturated sum stays where it first got: the same query on
// the same statistics answers MaxInt64 or MinInt64 from call to call.
func TestSaturatedHoursQueryStable(t *testing.T) {
	u := newStats(t, 0, 100)
	h0 := time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)
	for i, c := range []int64{math.MaxInt64, math.MinInt64, 1, -1, 2, -2, 3, -3} {
		record(u, h0.Add(time.Duration(i)*time.Hour), "t", "a", "", "", "", "GET", c, false)
	}
	first := fmt.Sprint(u.TenantRows(h0, h0.Add(8*time.Hour)), u.Top("t", App, h0, h0.Add(8*time.Hour), 5))
	for i := range 200 {
		if got := fmt.Sprint(u.TenantRows(h0, h0.Add(8*time.Hour)), u.Top("t", App, h0, h0.Add(8*time.Hour), 5)); got != first {
			t.Fatalf("query %d: %s, the first %s", i, got, first)
		}
	}
}
