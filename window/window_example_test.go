package window_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/creditgate/creditgate/window"
)

func ExampleNewRolling() {
	// 1,000 credits in any 24 hours, in 96 slots of 15 minutes.
	w, err := window.NewRolling(1000, 24*time.Hour)
	if err != nil {
		panic(err)
	}
	fmt.Println(w.Limit(), w.SlotWidth())
	// Output: 1000 15m0s
}

func ExampleRolling_TryAcquireAt() {
	w, _ := window.NewRolling(10, 24*time.Hour)
	t0 := time.Date(2026, 3, 2, 9, 5, 0, 0, time.UTC)

	ok, _ := w.TryAcquireAt(t0, 7)
	fmt.Println("7 at 09:05:", ok, "remaining", w.RemainingAt(t0))
	ok, _ = w.TryAcquireAt(t0.Add(time.Hour), 4)
	fmt.Println("4 at 10:05:", ok)
	// The 09:00-09:15 slot comes back once all of it is 24 hours old.
	fmt.Println("back at:", w.ResetAt(t0.Add(time.Hour)).Format("Jan 2 15:04"))
	_, err := w.TryAcquireAt(t0, 11)
	fmt.Println(err)
	// Output:
	// 7 at 09:05: true remaining 3
	// 4 at 10:05: false
	// back at: Mar 3 09:15
	// window: credit count exceeds the limit
}

func ExampleNewFixed() {
	la, err := time.LoadLocation("America/Los_Angeles")
	if err != nil {
		fmt.Println(err)
		return
	}
	// The old Zoho behaviour: the whole pool resets at 00:00 Pacific time.
	w, _ := window.NewFixed(5000, 24*time.Hour, 0, la)
	now := time.Date(2026, 3, 7, 18, 0, 0, 0, la)
	w.TryAcquireAt(now, 5000)
	fmt.Println("remaining:", w.RemainingAt(now))
	fmt.Println("reset:", w.ResetAt(now).Format(time.RFC3339))
	// The next day has only 23 hours: DST starts.
	next := w.ResetAt(now)
	w.TryAcquireAt(next, 1)
	fmt.Println("reset after:", w.ResetAt(next).Sub(next))
	// Output:
	// remaining: 0
	// reset: 2026-03-08T00:00:00-08:00
	// reset after: 23h0m0s
}

func ExampleNewCompound() {
	// HubSpot-style: 100 credits per 10 seconds and 250,000 per day.
	burst, _ := window.NewRolling(100, 10*time.Second)
	daily, _ := window.NewRolling(250_000, 24*time.Hour)
	w, _ := window.NewCompound(burst, daily)
	now := time.Date(2026, 3, 2, 12, 0, 0, 0, time.UTC)

	ok, _ := w.TryAcquireAt(now, 100)
	fmt.Println("100:", ok)
	ok, _ = w.TryAcquireAt(now, 1)
	fmt.Println("101st:", ok, "daily remaining:", daily.RemainingAt(now))
	// Output:
	// 100: true
	// 101st: false daily remaining: 249900
}

func ExampleWait() {
	w, _ := window.NewRolling(10, time.Hour)
	w.TryAcquire(10)

	// The credits come back in about an hour, after this deadline: Wait fails
	// at once and says when they would be available.
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	err := window.Wait(ctx, w, 5)
	var we *window.WaitError
	fmt.Println(errors.As(err, &we), errors.Is(err, context.DeadlineExceeded))
	fmt.Println(we.Available.Sub(time.Now()) > 50*time.Minute)

	// Credits that are there are taken at once.
	w2, _ := window.NewRolling(10, time.Hour)
	fmt.Println(window.Wait(context.Background(), w2, 5), w2.Remaining())
	// Output:
	// true true
	// true
	// <nil> 5
}

func ExampleRolling_TakeAt() {
	w, _ := window.NewRolling(10, 24*time.Hour)
	t0 := time.Date(2026, 3, 2, 9, 5, 0, 0, time.UTC)
	fmt.Printf("%+v\n", w.TakeAt(t0, 7, 0, false))
	fmt.Printf("%+v\n", w.TakeAt(t0, 2, 2, false)) // refused: 2 of the 3 left are kept back
	fmt.Printf("%+v\n", w.TakeAt(t0, 5, 0, true))  // partial: what fits
	// Output:
	// {Took:7 Spent:7 Remaining:3}
	// {Took:0 Spent:7 Remaining:3}
	// {Took:3 Spent:10 Remaining:0}
}

// A caller that needs the instant in Unix nanoseconds itself (to stamp a
// lease, say) reads it once with UnixNano and takes at it.
func ExampleRolling_TakeUnixNano() {
	w, _ := window.NewRolling(10, 24*time.Hour)
	ns := window.UnixNano(time.Date(2026, 3, 2, 9, 5, 0, 0, time.UTC))
	fmt.Printf("%+v\n", w.TakeUnixNano(ns, 4, 0, false))
	fmt.Println(window.UnixNano(time.Date(1600, 1, 1, 0, 0, 0, 0, time.UTC)) == window.UnixNano(time.Date(1500, 1, 1, 0, 0, 0, 0, time.UTC))) // both read as 1677
	// Output:
	// {Took:4 Spent:4 Remaining:6}
	// true
}
