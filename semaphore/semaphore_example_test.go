package semaphore_test

import (
	"context"
	"fmt"
	"io"
	"runtime"
	"strings"

	"github.com/creditgate/creditgate/semaphore"
)

// The server side: a Zoho Standard application may have 10 calls in flight;
// the 11th is refused at once.
func ExampleNewWeighted() {
	s := semaphore.NewWeighted(10)
	admitted := 0
	for range 11 {
		if s.TryAcquire(1) {
			admitted++
		}
	}
	fmt.Println("admitted:", admitted, "held:", s.Held())
	s.Release(1)
	fmt.Println("after one release:", s.TryAcquire(1))
	// Output:
	// admitted: 10 held: 10
	// after one release: true
}

// The client side waits its turn; a request larger than the whole capacity
// fails at once instead of waiting forever.
func ExampleWeighted_Acquire() {
	s := semaphore.NewWeighted(2)
	ctx := context.Background()
	if err := s.Acquire(ctx, 2); err != nil {
		fmt.Println(err)
	}
	done := make(chan error)
	go func() { done <- s.Acquire(ctx, 1) }() // waits: the semaphore is full
	s.Release(2)
	fmt.Println("waiter:", <-done)
	fmt.Println("too large:", s.Acquire(ctx, 3))
	s.Release(1)
	// Output:
	// waiter: <nil>
	// too large: semaphore: weight exceeds capacity
}

// An edition upgrade raises the cap at run time; what is held stays held.
func ExampleWeighted_SetCapacity() {
	s := semaphore.NewWeighted(5) // Free
	s.TryAcquire(5)
	s.SetCapacity(10) // upgraded to Standard
	fmt.Println(s.TryAcquire(5), s.Held(), s.Capacity())
	s.Release(10)
	// Output: true 10 10
}

// One semaphore per application, created on demand with its edition's cap,
// and a bounded number of applications.
func ExampleGroup() {
	caps := map[string]int64{"app-free": 5, "app-ultimate": 25}
	g, err := semaphore.NewGroup(1000, func(app string) int64 { return caps[app] })
	if err != nil {
		panic(err)
	}
	s, ok := g.TryAcquire("app-free", 5)
	fmt.Println("5 on app-free:", ok)
	_, ok = g.TryAcquire("app-free", 1)
	fmt.Println("6th on app-free:", ok)
	_, ok = g.TryAcquire("app-ultimate", 6)
	fmt.Println("6 on app-ultimate:", ok)
	s.Release(5)
	fmt.Println("keys:", g.Len())
	// Output:
	// 5 on app-free: true
	// 6th on app-free: false
	// 6 on app-ultimate: true
	// keys: 2
}

// A client call holds its concurrency slot until the response body is
// closed; closing twice releases once.
func ExampleLease() {
	s := semaphore.NewWeighted(1)
	if !s.TryAcquire(1) {
		return
	}
	body := semaphore.ReleaseOnClose(io.NopCloser(strings.NewReader("{}")), semaphore.NewLease(s, 1))
	fmt.Println("held while the body is open:", s.Held())
	body.Close()
	body.Close()
	fmt.Println("held after close:", s.Held())
	// Output:
	// held while the body is open: 1
	// held after close: 0
}

// printT prints what Check reports with the directory cut off, and with the
// line number shown as LINE when it is exactly the expected one, so that the
// output depends neither on the checkout nor on where the example sits in
// this file (a wrong line number would still show, and fail the example).
type printT struct{ line int }

func (p printT) Errorf(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	msg = msg[strings.LastIndex(msg, "/")+1:]
	fmt.Println(strings.Replace(msg, fmt.Sprintf(":%d:", p.line), ":LINE:", 1))
}

// A Tracker finds leases nobody released, with where they were taken; in a
// test, pass t to Check.
func ExampleTracker() {
	var tr semaphore.Tracker
	s := semaphore.NewWeighted(2)
	s.TryAcquire(2)
	ok := tr.Lease(s, 1)
	_, _, line, _ := runtime.Caller(0)
	tr.Lease(s, 1) // leaked, on the line after line
	ok.Release()
	fmt.Println(len(tr.Outstanding()), tr.Check(printT{line: line + 1}))
	// Output:
	// semaphore_example_test.go:LINE: lease of weight 1 not released
	// 1 false
}
