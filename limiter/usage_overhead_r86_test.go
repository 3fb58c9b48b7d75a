package limiter

import (
	"math"
	"testing"
)

// Reviewer-86: BenchmarkUsageOverhead's ratio, from turns whose second of a
// pair runs faster (its tenants, or anything else, warm from the first):
// a true overhead of 5 % is found as 5 %, whatever the number of pairs.
// The benchmark's first estimate, the median of the pairs' ratios (two
// clusters, one per order), said 31 % with an even count and -16 % with
// an odd one.
func TestUsageOverheadRatioCancelsOrder(t *testing.T) {
	const ratio, off = 1.05, 100.0
	for _, second := range []float64{1, 0.9, 0.8, 1.15} { // the second turn's time over what it would be first
		for _, pairs := range []int{2, 4, 6, 10, 40} {
			var offs, ons []float64
			for k := range pairs {
				o, n := off, off*ratio
				if k%2 == 0 {
					n *= second // statistics on second
				} else {
					o *= second
				}
				o *= 1 + 0.01*float64(k%3) // and some noise, the same on both sides
				n *= 1 + 0.01*float64(k%3)
				offs, ons = append(offs, o), append(ons, n)
			}
			if got := usageOverheadRatio(offs, ons); math.Abs(got-ratio) > 1e-9 {
				t.Errorf("second turn x%v, %d pairs: ratio %.4f, want %.4f", second, pairs, got, ratio)
			}
		}
	}
}
