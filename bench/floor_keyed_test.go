package bench

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
)

// The keyed floor: what any keyed limiter must do at least, with nothing of
// a limiter left: look the key up in a Go map built beforehand and read
// without a lock, and add to the key's counter with one atomic add. No
// window, no semaphore, no clock, no eviction, no insertion. The keyed rows'
// implementations all do this and more, so this row bounds how fast any of
// them can be on this machine: at 100,000 keys the lookup is a cache miss
// or two whatever the code.
func keyedFloorRow(n int) string { return fmt.Sprintf("KeyedFloor/keys=%d", n) }

func init() {
	for _, n := range keyCounts {
		register(keyedFloorRow(n), impl{
			name: "mapadd",
			run: func(b *testing.B) {
				keyedBench(b, n, warmTake(b, "mapadd", n, func() (takeFunc, func(), error) {
					m := make(map[string]*atomic.Int64, n)
					for _, k := range keySet(n) {
						m[k] = new(atomic.Int64)
					}
					return func(_ context.Context, key string) bool {
						c := m[key]
						if c == nil {
							return false
						}
						c.Add(1)
						return true
					}, nil, nil
				}))
			},
		})
	}
}
