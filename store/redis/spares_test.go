package redis

import "testing"

// A take that reused the pair's spare and was refused gives the spare back;
// if a call of the pair ended meanwhile and became the spare, the pair keeps
// one, not two: the other is released.
func TestSparePutBackKeepsOne(t *testing.T) {
	var h leases
	h.init()
	tn := &tenant{}
	const pair = "a\x00"
	a := &Lease{t: tn, member: "m1", pair: pair, kind: remoteLease}
	b := &Lease{t: tn, member: "m2", pair: pair, kind: remoteLease}
	h.add(a)
	h.add(b)
	if !h.spare(a) {
		t.Fatal("the pair's first spare was not kept")
	}
	x := h.popSpare(tn, pair) // a take reuses it
	if !h.spare(b) {          // another call ends meanwhile
		t.Fatal("the pair had no spare, yet b was not kept")
	}
	h.pushSpare(x) // the take was refused
	if n := len(h.spares[spareKey{tn, pair}]); n > maxSpares {
		t.Fatalf("the pair keeps %d spares", n)
	}
	if n := len(h.m); n > maxSpares {
		t.Fatalf("%d slots held with no call in flight, at most %d spare", n, maxSpares)
	}
}
