package window

import "testing"

// A TakeAt of nothing reports what is spent as a refused take does, also
// when a lowered limit leaves more spent than the new limit: the memory
// store reports usage after a refund with TakeAt(now, 0, 0, false).
func TestContractPeekSpentOverLoweredLimit(t *testing.T) {
	forEach(t, func(t *testing.T, mk func(limit int64) Window) {
		w := mk(10)
		if got := w.ChargeAt(start, 8); got != 8 {
			t.Fatalf("ChargeAt(8) = %d", got)
		}
		if err := w.SetLimit(3); err == ErrCompoundLimit {
			t.Skip("a compound's limits are its parts'")
		} else if err != nil {
			t.Fatal(err)
		}
		refused := w.TakeAt(start, 1, 0, false)
		peek := w.TakeAt(start, 0, 0, false)
		want := Take{Spent: 8, Remaining: 0}
		if refused != want || peek != want {
			t.Fatalf("8 spent under a limit lowered to 3: refused take %+v, take of nothing %+v; want %+v for both", refused, peek, want)
		}
	})
}
