// Package words compares short strings a word at a time where the machine
// loads unaligned words, for the hot paths that compare keys and names
// (the in-memory store's admission, usage recording): == calls memequal,
// then memeqbody, about 30 instructions a compare, and a call that spills
// what its caller holds in registers.
package words

import "unsafe"

// Equal is a == b. Strings of 4 to 16 bytes are compared in two
// overlapping words each (the first and the last 4 or 8 bytes), inline,
// never reading past either string's end; other lengths, and every length
// where Unaligned is false, with ==.
func Equal(a, b string) bool {
	n := len(a)
	if !Unaligned || n != len(b) || uint(n-4) > 12 { // other lengths, or not 4 to 16 bytes
		return a == b
	}
	p, q := unsafe.Pointer(unsafe.StringData(a)), unsafe.Pointer(unsafe.StringData(b))
	if n < 8 {
		return (*(*uint32)(p)^*(*uint32)(q))|(*(*uint32)(unsafe.Add(p, n-4))^*(*uint32)(unsafe.Add(q, n-4))) == 0
	}
	return *(*uint64)(p) == *(*uint64)(q) && *(*uint64)(unsafe.Add(p, n-8)) == *(*uint64)(unsafe.Add(q, n-8))
}

// Short is a == b for strings of one length n, 2 to 16 bytes, whose data
// are at p and q: the caller has compared the lengths and checked the
// range (a run's five keys do both at once, see usage's sameRun). Each
// is read in two loads, never past its end: bytes 0-1 and n-1 below 4
// bytes, else the first and the last 4 or 8. Inline, where Equal leaves
// a key below 4 bytes ("GET") to ==, a call of memequal and memeqbody
// (~45 instructions). Only where Unaligned holds. (Equal spells its
// loads out rather than calling Short: with Short inlined in it, Equal
// is past the compiler's inlining budget, and a call on every compare.)
func Short(p, q unsafe.Pointer, n int) bool {
	if n >= 8 {
		return *(*uint64)(p) == *(*uint64)(q) && *(*uint64)(unsafe.Add(p, n-8)) == *(*uint64)(unsafe.Add(q, n-8))
	}
	if n >= 4 {
		return *(*uint32)(p) == *(*uint32)(q) && *(*uint32)(unsafe.Add(p, n-4)) == *(*uint32)(unsafe.Add(q, n-4))
	}
	return *(*uint16)(p) == *(*uint16)(q) && *(*uint8)(unsafe.Add(p, n-1)) == *(*uint8)(unsafe.Add(q, n-1))
}
