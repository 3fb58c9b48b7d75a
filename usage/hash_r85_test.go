package usage

import (
	"encoding/binary"
	"testing"
	"unsafe"
)

// Reviewer-85: hash16 is nameHash's loop of a 9- to 16-byte name at every
// offset of a buffer: where the machine is little-endian, the whole-word
// loads (words.Unaligned) give what the portable branch's le64 gives, so
// both branches compute one function there. (The filter needs only that
// every lookup of a length goes through hash16: see
// TestUsageFoldsPastAgreesWithHas.)
func TestHash16IsNameHashLoop(t *testing.T) {
	var probe uint16 = 1
	if *(*byte)(unsafe.Pointer(&probe)) != 1 {
		t.Skip("big-endian: the unaligned branch hashes words in the machine's order")
	}
	buf := make([]byte, 64)
	for i := range buf {
		buf[i] = byte(i*37 + 11)
	}
	for _, seed := range []uint64{0, 1, 0x9e3779b97f4a7c15, ^uint64(0)} {
		for off := range 32 {
			for n := 9; n <= 16; n++ {
				s := unsafe.String(&buf[off], n) // at the offset: every alignment
				h := seed ^ uint64(n)
				for i := 0; i+8 < n; i += 8 {
					h = mix(h ^ binary.LittleEndian.Uint64(buf[off+i:]))
				}
				want := mix(h ^ binary.LittleEndian.Uint64(buf[off+n-8:]))
				if got := hash16(seed, s); got != want {
					t.Fatalf("seed %x, offset %d, %d bytes: hash16 %x, want %x", seed, off, n, got, want)
				}
				if got := nameHash(seed, s); got != want {
					t.Fatalf("seed %x, offset %d, %d bytes: nameHash %x, want %x", seed, off, n, got, want)
				}
			}
		}
	}
}
