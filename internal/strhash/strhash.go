// Package strhash hashes strings with the runtime's own string hash (AES
// instructions where the processor has them), seeded per table as
// hash/maphash is, without maphash's two wrappers: maphash.String's seed
// check and chunking loop and rthashString's slice conversion cost about
// 40 instructions around a 23-instruction hash of a short key, and a
// keyed admission hashes once.
package strhash

import (
	"math/rand/v2"
	"unsafe"
)

// memhash is the runtime's hash of s bytes at p with seed h: the one
// maphash.String calls. The runtime keeps it for linkname (it marks it so).
//
//go:linkname memhash runtime.memhash
//go:noescape
func memhash(p unsafe.Pointer, h, s uintptr) uintptr

// Seed is a random seed: a table's keys cannot be chosen to collide without
// it (hash flooding). The zero Seed is valid but fixed, so not safe for
// keys that come from outside.
type Seed uint64

// NewSeed returns a random Seed.
func NewSeed() Seed { return Seed(rand.Uint64()) }

// String returns the hash of s under seed: the runtime's 64-bit hash, or on
// 32-bit platforms two 32-bit hashes under the seed's halves, as maphash's.
func String(seed Seed, s string) uint64 {
	p := unsafe.Pointer(unsafe.StringData(s))
	if unsafe.Sizeof(uintptr(0)) == 8 {
		return uint64(memhash(p, uintptr(seed), uintptr(len(s))))
	}
	lo := memhash(p, uintptr(uint32(seed)), uintptr(len(s)))
	hi := memhash(p, uintptr(seed>>32), uintptr(len(s)))
	return uint64(hi)<<32 | uint64(lo)
}
