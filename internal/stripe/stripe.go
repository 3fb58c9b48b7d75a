// Package stripe picks, for the calling goroutine, one of a few stripes of
// a value spread over cache lines of their own, so that goroutines on
// different cores mostly write different lines.
package stripe

import "unsafe"

// Bits sets how many stripes there are: Count = 1 << Bits.
const (
	Bits  = 3
	Count = 1 << Bits
)

// Index picks a stripe, 0 to Count-1, from the 8 KiB block of the stack
// that the caller's frame is in: goroutines have stacks of their own, so
// goroutines on different cores mostly land on different stripes, and one
// goroutine called at about the same depth on the same. Not always: a new
// goroutine's stack is 2 KiB, and up to four such stacks share a block, so
// a stripe; on a stack of 16 KiB or more, calls at depths in different
// blocks pick different stripes; and other blocks collide, one pair in
// Count. Nothing may depend on a goroutine keeping its stripe: a growing
// stack moves.
//
//go:nosplit
func Index() int {
	var x byte
	return int(uint64(uintptr(unsafe.Pointer(&x))>>13) * 0x9e3779b97f4a7c15 >> (64 - Bits))
}
