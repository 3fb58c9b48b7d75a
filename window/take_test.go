package window

import (
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"
)

// kinds builds one window of each kind with the given limit, all at t0's
// scale: a day long, so that nothing comes back within the tests' minutes.
func takeKinds(t *testing.T, limit int64) map[string]Window {
	t.Helper()
	r, err := NewRolling(limit, 24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	f, err := NewFixed(limit, 24*time.Hour, 0, time.UTC)
	if err != nil {
		t.Fatal(err)
	}
	a, _ := NewRolling(limit, 24*time.Hour)
	b, _ := NewRolling(limit*2, 48*time.Hour)
	c, err := NewCompound(a, b)
	if err != nil {
		t.Fatal(err)
	}
	return map[string]Window{"rolling": r, "fixed": f, "compound": c}
}

// TestTakeAtModel drives TakeAt with random counts, reserves and partial
// flags against a counter: the step's figures must be the model's.
func TestTakeAtModel(t *testing.T) {
	const limit = 1000
	t0 := time.Date(2026, 3, 1, 1, 0, 0, 0, time.UTC)
	for name, w := range takeKinds(t, limit) {
		t.Run(name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(1, 2))
			var spent int64
			for i := range 2000 {
				now := t0.Add(time.Duration(i) * time.Millisecond)
				n, keep, partial := rng.Int64N(60)-5, rng.Int64N(300), rng.IntN(3) == 0
				want := int64(0)
				if n > 0 {
					free := limit - keep - spent
					switch {
					case n <= free:
						want = n
					case partial:
						want = max(free, 0)
					}
				}
				spent += want
				got := w.TakeAt(now, n, keep, partial)
				if got.Took != want || got.Spent != spent || got.Remaining != limit-spent {
					t.Fatalf("step %d: TakeAt(%d, keep %d, partial %v) = %+v; want took %d, spent %d, remaining %d",
						i, n, keep, partial, got, want, spent, limit-spent)
				}
				if n > 0 && !partial && want > 0 && got.Remaining < keep {
					t.Fatalf("step %d: took into the reserve: %+v keep %d", i, got, keep)
				}
			}
		})
	}
}

// TestTakeAtExactUnderContention: goroutines take one credit at a time; the
// spent figure each successful take reports is its own step's, so the
// figures are exactly 1..admitted, each once, and the reserve stays.
func TestTakeAtExactUnderContention(t *testing.T) {
	const limit, keep, workers = 4000, 500, 8
	t0 := time.Date(2026, 3, 1, 1, 0, 0, 0, time.UTC)
	for name, w := range takeKinds(t, limit) {
		t.Run(name, func(t *testing.T) {
			seen := make([]int, limit+1)
			var mu sync.Mutex
			var wg sync.WaitGroup
			for g := range workers {
				wg.Add(1)
				go func() {
					defer wg.Done()
					var mine []int64
					for i := range limit {
						now := t0.Add(time.Duration(i%50+g) * time.Millisecond)
						if x := w.TakeAt(now, 1, keep, false); x.Took == 1 {
							mine = append(mine, x.Spent)
						}
					}
					mu.Lock()
					for _, s := range mine {
						if s >= 1 && s <= limit {
							seen[s]++
						} else {
							seen[0]++
						}
					}
					mu.Unlock()
				}()
			}
			wg.Wait()
			if seen[0] != 0 {
				t.Fatalf("%d takes reported a spent figure out of range", seen[0])
			}
			for s := 1; s <= limit-keep; s++ {
				if seen[s] != 1 {
					t.Fatalf("spent figure %d reported %d times, want once", s, seen[s])
				}
			}
			for s := limit - keep + 1; s <= limit; s++ {
				if seen[s] != 0 {
					t.Fatalf("spent figure %d reported: a take went into the reserve", s)
				}
			}
		})
	}
}

// RefundAt reports what it gave back: never more than its slot (or period)
// still holds.
func TestRefundAtReportsAmount(t *testing.T) {
	t0 := time.Date(2026, 3, 1, 1, 0, 0, 0, time.UTC)
	for name, w := range takeKinds(t, 100) {
		t.Run(name, func(t *testing.T) {
			w.TakeAt(t0, 30, 0, false)
			if got := w.RefundAt(t0, t0, 20); got != 20 {
				t.Fatalf("refund 20 of 30: gave back %d", got)
			}
			if got := w.RefundAt(t0, t0, 50); got != 10 {
				t.Fatalf("refund 50 of the 10 left: gave back %d", got)
			}
			if got := w.RemainingAt(t0); got != 100 {
				t.Fatalf("remaining %d after refunding all", got)
			}
		})
	}
}

func TestFixedReturns(t *testing.T) {
	f, err := NewFixed(100, 24*time.Hour, 0, time.UTC)
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	for range f.Returns(t0) {
		t.Fatal("an unspent window returns something")
	}
	f.TakeAt(t0, 30, 0, false)
	_ = f.SetLimit(10) // spends above a lowered limit stay in the schedule
	var got []string
	for at, n := range f.Returns(t0) {
		got = append(got, fmt.Sprint(at.Format(time.RFC3339), " ", n))
	}
	if want := []string{"2026-03-02T00:00:00Z 30"}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("Returns = %v, want %v", got, want)
	}
	if f.Period() != 24*time.Hour {
		t.Fatal(f.Period())
	}
}
