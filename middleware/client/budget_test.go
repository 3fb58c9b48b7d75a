package client

import (
	"math/rand/v2"
	"testing"
	"time"
)

// The retry budget's first, with its fast path through the last bucket,
// counts as slot alone does (the reference: first before the fast path),
// at random steps of time, onto bucket edges and across them, over windows,
// and jumps backwards.
func TestBudgetFirstFastPath(t *testing.T) {
	var got, ref budget
	p := RetryPolicy{BudgetWindow: 10 * time.Second}
	got.init(p)
	ref.init(p)
	width := int64(time.Second)
	rng := rand.New(rand.NewPCG(1, 2))
	ns := time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC).UnixNano()
	for i := range 50000 {
		switch k := rng.IntN(100); {
		case k < 10:
			ns = (ns/width + 1) * width // on the next edge
		case k < 15:
			ns = (ns/width+1)*width - 1 // just before it
		case k < 70:
			ns += rng.Int64N(width / 4)
		case k < 95:
			ns += rng.Int64N(3 * width)
		case k < 98:
			ns -= rng.Int64N(2 * width) // a clock that jumps back
		default:
			ns -= rng.Int64N(20 * width) // past the window
		}
		now := time.Unix(0, ns)
		n := rng.Int64N(5) + 1
		got.first(now, n)
		if bk := ref.slot(now, false); bk != nil {
			bk.first.Add(n)
		}
		g, _ := got.totals(now)
		w, _ := ref.totals(now)
		if g != w {
			t.Fatalf("step %d: totals = %d, want %d", i, g, w)
		}
	}
}
