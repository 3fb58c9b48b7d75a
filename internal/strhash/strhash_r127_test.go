package strhash

import (
	"strings"
	"testing"
)

// TestStringEveryByte_r127: every byte of a key counts, at every length up
// to well past the hash's 16-, 64- and 128-byte blocks: keys that differ in
// one byte anywhere hash apart. (The package's other tests use keys of at
// most 11 bytes and compare long keys only with themselves: a hash of the
// first 16 bytes alone, whose keys an attacker floods by a shared prefix,
// passed them all.)
func TestStringEveryByte_r127(t *testing.T) {
	seed := NewSeed()
	base := []byte(strings.Repeat("tenant-0123456789/", 20)) // 360 bytes
	for n := 1; n <= len(base); n++ {
		k := string(base[:n])
		h := String(seed, k)
		for i := range n {
			b := []byte(k)
			b[i] ^= 0x20
			if String(seed, string(b)) == h {
				t.Fatalf("length %d: keys differing only at byte %d hash alike", n, i)
			}
		}
		if n > 1 && String(seed, k[:n-1]) == h {
			t.Fatalf("length %d: a key and its prefix hash alike", n)
		}
	}
}
