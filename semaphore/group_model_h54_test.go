package semaphore

import (
	"context"
	"math/rand/v2"
	"testing"
)

// TestGroupModel drives a small Group one step at a time (TryAcquire,
// Acquire that need not wait, Release, Sweep) against a model of its
// contract: a key holding weight is live, and its semaphore keeps what it
// holds; a new key gets room while fewer than maxKeys are live or some live
// key is idle, else ErrTooManyKeys; a key never holds more than its
// capacity; Len stays within maxKeys and at least the busy keys.
func TestGroupModel(t *testing.T) {
	keys := []string{"a", "bb", "ccc", "dddd", "e", "ff", "g", "hh", "iii"}
	for seed := range uint64(200) {
		rng := rand.New(rand.NewPCG(seed, 543))
		maxKeys := 1 + rng.IntN(12)
		g, err := NewGroup(maxKeys, func(k string) int64 { return int64(len(k)) })
		if err != nil {
			t.Fatal(err)
		}
		held := map[string]int64{}     // busy keys' held weight
		sems := map[string]*Weighted{} // busy keys' semaphores
		type hold struct {
			key string
			n   int64
		}
		var holds []hold
		for step := range 200 {
			busy := len(held)
			switch op := rng.IntN(10); {
			case op < 6:
				key := keys[rng.IntN(len(keys))]
				n := rng.Int64N(4)
				room := held[key] > 0 || g.Len() < maxKeys || g.Len() > busy
				want := room && held[key]+n <= int64(len(key))
				var s *Weighted
				var ok bool
				if op < 4 {
					s, ok = g.TryAcquire(key, n)
				} else if n <= int64(len(key))-held[key] || !room {
					var err error
					s, err = g.Acquire(context.Background(), key, n)
					ok = err == nil
					if !room && err != ErrTooManyKeys {
						t.Fatalf("seed %d step %d: Acquire(%q, %d) without room: %v", seed, step, key, n, err)
					}
				} else {
					continue // it would wait
				}
				if ok != want {
					t.Fatalf("seed %d step %d: acquire %q %d with %d held (%d live of %d, %d busy): %v, want %v", seed, step, key, n, held[key], g.Len(), maxKeys, busy, ok, want)
				}
				if ok && n > 0 {
					if p := sems[key]; p != nil && p != s {
						t.Fatalf("seed %d step %d: busy key %q got a second semaphore", seed, step, key)
					}
					sems[key] = s
					held[key] += n
					holds = append(holds, hold{key, n})
				}
			case op < 9 && len(holds) > 0:
				i := rng.IntN(len(holds))
				h := holds[i]
				holds = append(holds[:i], holds[i+1:]...)
				sems[h.key].Release(h.n)
				if held[h.key] -= h.n; held[h.key] == 0 {
					delete(held, h.key)
					delete(sems, h.key)
				}
			default:
				g.Sweep()
				if g.Len() != busy {
					t.Fatalf("seed %d step %d: %d live after Sweep, %d busy", seed, step, g.Len(), busy)
				}
			}
			if n := g.Len(); n > maxKeys || n < len(held) {
				t.Fatalf("seed %d step %d: %d live keys, max %d, %d busy", seed, step, n, maxKeys, len(held))
			}
			for k, s := range sems {
				if s.Held() != held[k] {
					t.Fatalf("seed %d step %d: %q holds %d, model %d", seed, step, k, s.Held(), held[k])
				}
			}
		}
	}
}
