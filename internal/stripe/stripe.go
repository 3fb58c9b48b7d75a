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

// Index picks a stripe, 0 to Count-1, from the address of the caller's
// stack: each goroutine has its own stack, 8 KiB or more, so goroutines on
// different cores land on different stripes (but for collisions, one pair
// in Count), and one goroutine mostly on the same. Nothing may depend on a
// goroutine keeping its stripe: a growing stack moves.
//
//go:nosplit
func Index() int {
	var x byte
	return int(uint64(uintptr(unsafe.Pointer(&x))>>13) * 0x9e3779b97f4a7c15 >> (64 - Bits))
}
