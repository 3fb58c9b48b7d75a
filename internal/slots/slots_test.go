package slots

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestSlotsTryAcquireRelease(t *testing.T) {
	s := NewSlots(5)
	assert.True(t, s.TryAcquire(3))
	assert.False(t, s.TryAcquire(3), "3 of 5 held: 3 more does not fit")
	assert.True(t, s.TryAcquire(2))
	assert.False(t, s.TryAcquire(1))
	assert.Equal(t, int64(5), s.Held())
	s.Release(4)
	assert.Equal(t, int64(1), s.Held())
	assert.True(t, s.TryAcquire(0))
	assert.False(t, s.TryAcquire(-1))
	assert.False(t, s.TryAcquire(1<<62), "a huge weight neither fits nor overflows")
	s.Release(0)
	assert.PanicsWithValue(t, errNegRelease, func() { s.Release(-1) })
	assert.PanicsWithValue(t, errReleasedMore, func() { s.Release(2) })
	assert.Equal(t, int64(1), s.Held(), "a release of more than held is undone")
	s.Release(1)
	assert.Equal(t, int64(0), s.Held())

	var zero Slots
	assert.False(t, zero.TryAcquire(1), "the zero value has capacity 0")
	assert.Equal(t, int64(MaxCapacity), NewSlots(1<<62).Capacity())
	assert.Equal(t, int64(0), NewSlots(-3).Capacity())
}

// A lowered capacity keeps what is held and admits nothing new until the
// held weight is back under it; a raised one admits at once.
func TestSlotsSetCapacity(t *testing.T) {
	s := NewSlots(4)
	assert.True(t, s.TryAcquire(4))
	s.SetCapacity(2)
	assert.Equal(t, int64(4), s.Held())
	s.Release(2)
	assert.False(t, s.TryAcquire(1), "2 held at capacity 2")
	s.Release(1)
	assert.True(t, s.TryAcquire(1))
	s.SetCapacity(10)
	assert.True(t, s.TryAcquire(8))
	assert.Equal(t, int64(10), s.Held())
}

// TestSlotsModelConcurrent: goroutines TryAcquire and Release random
// weights while the capacity flips between 6 and 3; what they believe they
// hold never exceeds the largest capacity in force, and everything ends at 0
// (see checkCapacityChurn).
func TestSlotsModelConcurrent(t *testing.T) {
	s := NewSlots(6)
	checkCapacityChurn(t, s, 6, 2000, func(i int) int64 { return int64(3 + 3*(i%2)) }, s.TryAcquire)
}

// Sequential property test against a plain counter.
func TestSlotsMatchesModel(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for range 200 {
		capacity := rng.Int64N(10)
		s := NewSlots(capacity)
		var model int64
		for range 100 {
			n := rng.Int64N(5)
			switch rng.IntN(3) {
			case 0:
				want := n == 0 || n <= capacity-model
				if got := s.TryAcquire(n); got != want {
					t.Fatalf("cap %d held %d: TryAcquire(%d) = %v, want %v", capacity, model, n, got, want)
				}
				if want {
					model += n
				}
			case 1:
				if n <= model {
					s.Release(n)
					model -= n
				} else {
					assert.Panics(t, func() { s.Release(n) })
				}
			case 2:
				capacity = rng.Int64N(10)
				s.SetCapacity(capacity)
			}
			if s.Held() != model {
				t.Fatalf("Held %d, model %d", s.Held(), model)
			}
		}
	}
}

func BenchmarkSlots(b *testing.B) {
	s := NewSlots(1 << 20)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if !s.TryAcquire(1) {
				b.Error("refused")
				return
			}
			s.Release(1)
		}
	})
}

func ExampleSlots() {
	s := NewSlots(2) // at most two calls in flight
	fmt.Println(s.TryAcquire(1), s.TryAcquire(1), s.TryAcquire(1))
	s.Release(1)
	fmt.Println(s.TryAcquire(1), s.Held())
	// Output:
	// true true false
	// true 2
}
