package slots_test

import (
	"fmt"

	"github.com/creditgate/creditgate/internal/slots"
)

// A Pair takes an application's slot and its API class's in one atomic add.
func ExamplePair() {
	var p slots.Pair
	p.SetCapacityA(10) // the application's concurrency
	p.SetCapacityB(1)  // the bulk class's sub-concurrency
	ok, _ := p.TryAcquire(slots.PairA | slots.PairB)
	fmt.Println(ok)
	ok, refusedA := p.TryAcquire(slots.PairA | slots.PairB)
	fmt.Println(ok, refusedA) // refused by the class, not the application
	p.Release(slots.PairA | slots.PairB)
	fmt.Println(p.Held())
	// Output:
	// true
	// false false
	// 0 0
}
