//go:build !race

package limiter

import "unsafe"

// slotTake empties a slot of the pinned P and returns what it held.
func slotTake(s *unsafe.Pointer) unsafe.Pointer {
	h := *s
	if h != nil {
		*s = nil
	}
	return h
}

// slotGive fills the pinned P's slot with h if it is empty.
func slotGive(s *unsafe.Pointer, h unsafe.Pointer) bool {
	if *s != nil {
		return false
	}
	*s = h
	return true
}
