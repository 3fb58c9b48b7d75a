package window

import (
	"testing"
	"time"
)

// A partial take reports the first part's (the pool's) take as Took, as it
// reports its Spent, so that Spent-Took is the pool's use before the step;
// each part keeps its own charge, each later one up to what the one before
// took. Took was the least any part took: pool +49 and hourly +9 read as
// Took 9, Spent 50.
func TestCompoundPartialTook(t *testing.T) {
	pool, _ := NewRolling(50, 24*time.Hour)
	hour, _ := NewRolling(10, time.Hour)
	c, err := NewCompound(pool, hour)
	if err != nil {
		t.Fatal(err)
	}
	mustTake(t, c, t0, 1)
	tk := c.TakeAt(t1, 60, 0, true)
	if tk.Took != 49 || tk.Spent != 50 || tk.Remaining != 0 {
		t.Fatalf("partial take of 60: %+v, want Took 49, Spent 50, Remaining 0", tk)
	}
	if p, h := pool.TakeAt(t1, 0, 0, false), hour.TakeAt(t1, 0, 0, false); p.Spent != 50 || h.Spent != 10 {
		t.Fatalf("parts spent %d and %d, want 50 and 10", p.Spent, h.Spent)
	}
	// ChargeAt still returns the least any part took.
	pool2, _ := NewRolling(50, 24*time.Hour)
	hour2, _ := NewRolling(10, time.Hour)
	c2, _ := NewCompound(pool2, hour2)
	if got := c2.ChargeAt(t0, 30); got != 10 {
		t.Fatalf("ChargeAt(30) = %d, want 10 (the hour's)", got)
	}
}
