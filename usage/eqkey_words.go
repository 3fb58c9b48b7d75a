//go:build amd64 || arm64 || 386 || ppc64le || ppc64 || s390x

package usage

import "unsafe"

// eqKey is a == b. The keys that recording compares (tenants,
// applications, users, IPs, methods) are mostly 4 to 16 bytes: those are
// compared here in two overlapping words each, inline, where == calls
// memequal and then memeqbody, ~30 instructions a compare; an event
// aggregated at 100,000 tenants compares its tenant's name and the five
// keys of its tenant's run, copies of their own (other pointers). Only on
// the architectures that load unaligned words (those where the compiler
// merges byte loads into one); elsewhere it is == (eqkey_bytes.go).
func eqKey(a, b string) bool {
	n := len(a)
	if n != len(b) || uint(n-4) > 12 { // other lengths, or not 4 to 16 bytes
		return a == b
	}
	// The first and the last w bytes: 8 for 8 to 16, 4 for 4 to 7.
	p, q := unsafe.Pointer(unsafe.StringData(a)), unsafe.Pointer(unsafe.StringData(b))
	if n < 8 {
		return (*(*uint32)(p)^*(*uint32)(q))|(*(*uint32)(unsafe.Add(p, n-4))^*(*uint32)(unsafe.Add(q, n-4))) == 0
	}
	return *(*uint64)(p) == *(*uint64)(q) && *(*uint64)(unsafe.Add(p, n-8)) == *(*uint64)(unsafe.Add(q, n-8))
}
