package words

import (
	"math/rand/v2"
	"strings"
	"testing"
	"unsafe"
)

// Equal agrees with == on every length around its word sizes, with a
// differing byte at every offset, on copies (other pointers), on the same
// string, on slices at every alignment, and on random short keys from a
// small alphabet.
func TestEqualAgrees(t *testing.T) {
	check := func(a, b string) {
		t.Helper()
		if got, want := Equal(a, b), a == b; got != want {
			t.Fatalf("Equal(%q, %q) = %v, == %v", a, b, got, want)
		}
	}
	for n := 0; n <= 40; n++ {
		base := strings.Repeat("k", n)
		check(base, base)
		check(base, strings.Clone(base))
		check(base, base+"k")
		check(base+"k", base)
		for i := range n {
			x := []byte(base)
			x[i] = 'j'
			check(base, string(x))
			check(string(x), base)
		}
	}
	big := strings.Repeat("abcabcab", 6)
	for n := 0; n <= 24; n++ {
		for i := range 8 {
			for j := range 8 {
				check(big[i:i+n], big[j:j+n]) // equal where i == j, mostly not elsewhere
			}
		}
	}
	r := rand.New(rand.NewPCG(5, 6))
	key := func() string {
		b := make([]byte, r.IntN(20))
		for i := range b {
			b[i] = "ab"[r.IntN(2)]
		}
		return string(b)
	}
	for range 100000 {
		check(key(), key())
	}
}

// Short agrees with == on strings of one length from 2 to 16 bytes, with
// a differing byte at every offset, on copies, and on slices at every
// alignment.
func TestShortAgrees(t *testing.T) {
	if !Unaligned {
		t.Skip("Short is only for machines that load unaligned words")
	}
	check := func(a, b string) {
		t.Helper()
		p, q := unsafe.Pointer(unsafe.StringData(a)), unsafe.Pointer(unsafe.StringData(b))
		if got, want := Short(p, q, len(a)), a == b; got != want {
			t.Fatalf("Short(%q, %q) = %v, == %v", a, b, got, want)
		}
	}
	for n := 2; n <= 16; n++ {
		base := strings.Repeat("k", n)
		check(base, strings.Clone(base))
		for i := range n {
			x := []byte(base)
			x[i] = 'j'
			check(base, string(x))
			check(string(x), base)
		}
	}
	big := strings.Repeat("abcabcab", 6)
	for n := 2; n <= 16; n++ {
		for i := range 8 {
			for j := range 8 {
				check(big[i:i+n], big[j:j+n])
			}
		}
	}
}
