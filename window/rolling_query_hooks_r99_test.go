//go:build creditgate_testhooks

package window

import (
	"testing"
	"time"
)

// TestRollingR99QueryFrontierMoves: a query (Returns, AvailableAt) brings
// the frontier up to its now, k0 (sync), and then reads cur, past and the
// ring under k0. If another caller, whose now is two slots later, moves the
// frontier meanwhile and takes 2 credits in slot k0+size+1, beyond the last
// slot k0 counts (k0+size-1), the query finds them in no slot of its range
// and lists them at that slot's return, backU(k0+size-1): two slots before
// they come back, backU(k0+size+1). Returns "errs towards credits coming back
// late, never early"; SetPlan's carry charges a new window with what it
// lists, there to come back early. AvailableAt(limit) likewise names an
// instant at which the 2 are still out.
func TestRollingR99QueryFrontierMoves(t *testing.T) {
	defer func() { queryHook = nil }()
	for _, query := range []string{"Returns", "AvailableAt"} {
		r, err := NewRolling(10, 10*time.Second, WithSlots(10)) // size 11
		if err != nil {
			t.Fatal(err)
		}
		w, size := r.g.width, r.size()
		k0 := r.toU(start)/w + 1
		at := func(u uint64) time.Time { return r.fromU(u, time.UTC) }
		if ok, _ := r.TryAcquireAt(at(k0*w), 3); !ok {
			t.Fatal("take refused")
		}
		q := (k0 + size - 1) * w // frontier k0
		var slot uint64
		queryHook = func() {
			queryHook = nil
			var ok bool
			ok, _, slot = r.takeTok(at((k0+size+1)*w), 2) // frontier k0+2: slot k0's 3 are back
			if !ok {
				t.Fatal("take refused")
			}
		}
		back := r.backU(k0 + size + 1)
		switch query {
		case "Returns":
			for a, n := range r.Returns(at(q)) {
				if r.toU(a) < back {
					t.Errorf("Returns lists %d back at %v; the 2 taken in slot %d are back at %v, nothing earlier", n, at(r.toU(a)), slot-k0, at(back))
				}
			}
		case "AvailableAt":
			got, err := r.AvailableAt(at(q), 10)
			if err != nil || r.toU(got) < back {
				t.Errorf("AvailableAt(10) = %v, %v; the 2 taken in slot %d are out until %v", got, err, slot-k0, at(back))
			}
		}
		if queryHook != nil {
			t.Fatalf("%s: the hook did not run", query)
		}
	}
}
