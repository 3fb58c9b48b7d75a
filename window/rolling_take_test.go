package window

import (
	"math/rand/v2"
	"testing"
	"time"
	"unsafe"

	"github.com/creditgate/creditgate/internal/layout"
)

// TryTakeAt must decide exactly as TryAcquireAt and report exactly what
// RemainingAt reports after the call, on a twin window fed the same calls:
// forward steps within and across slots, backward steps, jumps of days,
// refunds, and counts out of range.
func TestTryTakeAtMatchesTryAcquireAt(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 11))
	for seq := range 300 {
		const limit = 50
		a, err := NewRolling(limit, 10*time.Second, WithSlots(10))
		if err != nil {
			t.Fatal(err)
		}
		b, _ := NewRolling(limit, 10*time.Second, WithSlots(10))
		now := start
		var spentAt []time.Time
		for step := range 200 {
			switch k := rng.IntN(20); {
			case k < 12:
				now = now.Add(time.Duration(rng.Int64N(int64(700 * time.Millisecond))))
			case k < 14:
				now = now.Add(-time.Duration(rng.Int64N(int64(3 * time.Second))))
			case k == 14:
				now = now.Add(time.Duration(rng.Int64N(int64(72 * time.Hour))))
			case k == 15 && len(spentAt) > 0:
				at := spentAt[rng.IntN(len(spentAt))]
				a.RefundAt(now, at, 3)
				b.RefundAt(now, at, 3)
			}
			n := rng.Int64N(limit/3) + 1
			switch rng.IntN(25) {
			case 0:
				n = 0
			case 1:
				n = -2
			case 2:
				n = limit + 1
			}
			gotOK, gotRem := a.TryTakeAt(now, n)
			wantOK, _ := b.TryAcquireAt(now, n)
			wantRem := b.RemainingAt(now)
			if gotOK != wantOK || gotRem != wantRem {
				t.Fatalf("seq %d step %d: TryTakeAt(t0+%v, %d) = %v, %d; TryAcquireAt+RemainingAt = %v, %d",
					seq, step, now.Sub(start), n, gotOK, gotRem, wantOK, wantRem)
			}
			if gotRem != a.RemainingAt(now) {
				t.Fatalf("seq %d step %d: TryTakeAt reported %d, RemainingAt says %d", seq, step, gotRem, a.RemainingAt(now))
			}
			if gotOK {
				spentAt = append(spentAt, now)
			}
		}
	}
}

// A Rolling is 48 bytes: the fields a take reads, its ring pointer, then
// cur, which an embedder starts a line with (the in-memory store's tenant
// puts its slots beside it). NewRolling's allocations keep cur's line
// apart from every field a take reads, and the geometry is shared.
func TestRollingLayout(t *testing.T) {
	var r Rolling
	if sz := unsafe.Sizeof(r); sz != 48 {
		t.Fatalf("Rolling is %d bytes, want 48", sz)
	}
	if off := unsafe.Offsetof(r.cur); off != 40 {
		t.Fatalf("cur at offset %d, want 40 (last)", off)
	}
	if sz := unsafe.Sizeof(padded{}); sz != 128 {
		t.Fatalf("the padded allocation is %d bytes, want 128", sz)
	}
	line := func(p unsafe.Pointer) uintptr { return uintptr(p) / 64 }
	for _, slots := range []int{DefaultSlots, 10} {
		for range 8 {
			r := must(NewRolling(1, 24*time.Hour, WithSlots(slots)))
			c := line(unsafe.Pointer(&r.cur))
			for name, p := range map[string]unsafe.Pointer{"head": unsafe.Pointer(&r.head),
				"limit": unsafe.Pointer(&r.limit), "past": unsafe.Pointer(&r.past),
				"g": unsafe.Pointer(&r.g)} {
				if line(p) == c {
					t.Fatalf("slots %d: %s shares cur's line", slots, name)
				}
			}
			if uintptr(unsafe.Pointer(&r.cur))%64 != 0 {
				t.Fatalf("slots %d: cur does not open its line", slots)
			}
		}
	}
	a := must(NewRolling(1, 24*time.Hour))
	b := must(NewRolling(7, 24*time.Hour))
	if a.g != b.g {
		t.Fatalf("two windows of one length and slot count do not share a geometry")
	}
}

func must(r *Rolling, err error) *Rolling {
	if err != nil {
		panic(err)
	}
	return r
}

// initRolling is the in-place constructor the in-memory store gets through
// package layout.
func initRolling(r *Rolling, limit int64, length time.Duration, slots int) error {
	return layout.InitRolling.(func(*Rolling, int64, time.Duration, int) error)(r, limit, length, slots)
}

func TestInit(t *testing.T) {
	type holder struct {
		_ [64]byte
		r Rolling
	}
	h := new(holder)
	if err := initRolling(&h.r, 0, time.Hour, 0); err != ErrInvalidLimit {
		t.Fatalf("Init(0) = %v, want ErrInvalidLimit", err)
	}
	if err := initRolling(&h.r, 10, time.Hour, 4); err != nil {
		t.Fatal(err)
	}
	if ok, rem := h.r.TryTakeAt(start, 4); !ok || rem != 6 {
		t.Fatalf("TryTakeAt on an embedded window = %v, %d; want true, 6", ok, rem)
	}
	if err := initRolling(&h.r, 20, time.Minute, 0); err != errInUse {
		t.Fatalf("second Init = %v, want errInUse", err)
	}
	if h.r.Limit() != 10 || h.r.RemainingAt(start) != 6 || h.r.Length() != time.Hour {
		t.Fatal("a refused Init changed the window")
	}
}
