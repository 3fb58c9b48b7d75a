//go:build race

package limiter

import (
	"sync/atomic"
	"unsafe"
)

// Under the race detector a slot is read and written atomically: pinning
// orders a Put before the next Get on its P, but the detector does not know
// it, and would report the state's reuse as a race.

func slotTake(s *unsafe.Pointer) unsafe.Pointer { return atomic.SwapPointer(s, nil) }

func slotGive(s *unsafe.Pointer, h unsafe.Pointer) bool {
	return atomic.CompareAndSwapPointer(s, nil, h)
}
