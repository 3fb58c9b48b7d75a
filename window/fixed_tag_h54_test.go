package window

import (
	"testing"
	"time"
)

// A Fixed of sub-day periods numbers them 48h/period+1 a day (room for the
// longest civil day), so its period tags, modulo 2^23, repeat after about
// 2^22 periods of idleness, not 2^23: with 1 s periods, 48 days and 2h09m
// after a full period the window still counts that spending, for one
// period. Conservative (it refuses, never admits more), as the type's doc
// says, for the idle lengths it names.
func TestFixedTagRepeatsSubDay(t *testing.T) {
	f, err := NewFixed(5, time.Second, 0, time.UTC)
	if err != nil {
		t.Fatal(err)
	}
	t1 := time.Date(2026, 3, 2, 22, 13, 20, 0, time.UTC) // second 80000 of the day
	if f.ChargeAt(t1, 5) != 5 {
		t.Fatal("charge refused")
	}
	p1, p2 := f.periodOf(t1), (*period)(nil)
	t2 := t1.Add(49*day - 78641*time.Second)
	p2 = f.periodOf(t2)
	if p1.id&tagMask != p2.id&tagMask {
		t.Skipf("ids %d and %d differ modulo 2^23", p1.id, p2.id)
	}
	idle := t2.Sub(t1) / time.Second
	if got := f.RemainingAt(t2); got != 0 {
		t.Fatalf("%d periods later: %d remaining", idle, got)
	}
	if idle >= 1<<23 {
		t.Fatalf("idle %d periods, not under 2^23", idle)
	}
	if got := f.RemainingAt(t2.Add(time.Second)); got != 5 {
		t.Fatalf("a period later still %d remaining", got)
	}
}
