package window

import (
	"math/rand/v2"
	"testing"
	"time"
)

type availOp struct {
	at    time.Time
	n     int64
	query bool // AvailableAt, which passes its now to every part too
}

// TestAvailableAtIsEarliest: after random takes (clock forward and back),
// AvailableAt(now, n) is when n credits can be taken if nothing else is
// spent: a take of n then succeeds, and one a nanosecond before it (if
// after now) fails; checked on replays of the same takes, for Rolling,
// Fixed and Compound windows.
func TestAvailableAtIsEarliest(t *testing.T) {
	makers := []struct {
		name string
		mk   func() Window
	}{
		{"rolling", func() Window { r, _ := NewRolling(10, 10*time.Second, WithSlots(4)); return r }},
		{"rolling-1slot", func() Window { r, _ := NewRolling(7, 3*time.Second, WithSlots(1)); return r }},
		{"fixed", func() Window { f, _ := NewFixed(10, 10*time.Second, 0, time.UTC); return f }},
		{"compound", func() Window {
			a, _ := NewRolling(10, 20*time.Second, WithSlots(5))
			b, _ := NewRolling(4, 3*time.Second, WithSlots(3))
			f, _ := NewFixed(8, 10*time.Second, 0, time.UTC)
			c, _ := NewCompound(a, b, f)
			return c
		}},
	}
	for _, m := range makers {
		for seed := range uint64(25) {
			rng := rand.New(rand.NewPCG(seed, 542))
			w := m.mk()
			var log []availOp
			replay := func() Window {
				x := m.mk()
				for _, o := range log {
					if o.query {
						x.AvailableAt(o.at, o.n)
					} else {
						x.TryAcquireAt(o.at, o.n)
					}
				}
				return x
			}
			now := start
			for step := range 40 {
				now = now.Add(time.Duration(rng.Int64N(int64(4*time.Second))) - time.Second)
				n := 1 + rng.Int64N(w.Limit())
				w.TryAcquireAt(now, n)
				log = append(log, availOp{at: now, n: n}) // refused or not: a take passes its now

				q := 1 + rng.Int64N(w.Limit())
				at, err := w.AvailableAt(now, q)
				if err != nil {
					t.Fatalf("%s seed %d step %d: AvailableAt(%d): %v", m.name, seed, step, q, err)
				}
				log = append(log, availOp{at: now, n: q, query: true})
				if at.Before(now) {
					t.Fatalf("%s seed %d step %d: AvailableAt(+%v, %d) = +%v, before now", m.name, seed, step, now.Sub(start), q, at.Sub(start))
				}
				if ok, _ := replay().TryAcquireAt(at, q); !ok {
					t.Fatalf("%s seed %d step %d: AvailableAt(+%v, %d) = +%v, but a take of %d then is refused", m.name, seed, step, now.Sub(start), q, at.Sub(start), q)
				}
				if at.After(now) {
					if ok, _ := replay().TryAcquireAt(at.Add(-time.Nanosecond), q); ok {
						t.Fatalf("%s seed %d step %d: AvailableAt(+%v, %d) = +%v, but a take of %d a nanosecond before is admitted", m.name, seed, step, now.Sub(start), q, at.Sub(start), q)
					}
				}
			}
		}
	}
}
