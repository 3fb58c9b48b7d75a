package memory

import (
	"math/rand/v2"
	"strings"
	"testing"
	"unsafe"
)

// checkHasKey checks hasKey, the hot paths' keyIs/otherKey form of it and
// is against ==, for a tenant of key a and a lookup of b.
func checkHasKey(t *testing.T, a, b string) {
	t.Helper()
	tn := hashed(7)
	tn.setKey(a)
	want := a == b
	if got := tn.hasKey(b); got != want {
		t.Fatalf("tenant %q hasKey(%q) = %v, want %v", a, b, got, want)
	}
	if inWords(b) {
		if got := tn.keyIs(b); got != want {
			t.Fatalf("tenant %q keyIs(%q) = %v, want %v", a, b, got, want)
		}
	}
	if got := tn.otherKey(b); got != want {
		t.Fatalf("tenant %q otherKey(%q) = %v, want %v", a, b, got, want)
	}
	if got := tn.is(7, b); got != want {
		t.Fatalf("tenant %q is(%q) = %v, want %v", a, b, got, want)
	}
}

// TestKeyIsAgrees: hasKey (keyIs's words for 8 to 24 bytes) agrees with ==
// for keys of 0 to 40 bytes that differ in each byte, in length, or not at
// all, and for random ones.
func TestKeyIsAgrees(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for n := 0; n <= 40; n++ {
		a := randKey(r, n)
		checkHasKey(t, a, strings.Clone(a))
		for i := range n {
			b := []byte(a)
			b[i] ^= 1 << r.IntN(8)
			checkHasKey(t, a, string(b))
			checkHasKey(t, string(b), a)
		}
		for m := 0; m <= 40; m++ { // other lengths, same prefix
			b := a
			if m < n {
				b = a[:m]
			} else {
				b = a + randKey(r, m-n)
			}
			checkHasKey(t, a, b)
		}
		for range 50 {
			checkHasKey(t, a, randKey(r, n))
			checkHasKey(t, a, randKey(r, r.IntN(41)))
		}
	}
}

// randKey is n random bytes from a small alphabet, so that random keys
// often share bytes.
func randKey(r *rand.Rand, n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = "ab\x00\xff"[r.IntN(4)]
	}
	return string(b)
}

// TestKeyIsAtPageEdge: keyIs reads no byte past the key, which may end
// where readable memory does. The key is put at the end of a buffer and
// compared with a tenant whose key differs only past it: a read past the
// end would see the buffer's next byte (and the race detector's checkptr,
// an out-of-bounds pointer).
func TestKeyIsAtPageEdge(t *testing.T) {
	for n := 8; n <= 24; n++ {
		buf := []byte(strings.Repeat("k", n) + "X")
		key := unsafe.String(&buf[0], n) // "X" follows in memory
		checkHasKey(t, strings.Repeat("k", n), key)
		checkHasKey(t, strings.Repeat("k", n-1)+"X", key)
	}
}

// FuzzKeyIs: hasKey agrees with == on any pair of keys.
func FuzzKeyIs(f *testing.F) {
	for _, s := range [][2]string{
		{"", ""}, {"a", "b"}, {"tenant-000123", "tenant-000122"}, {"tenant-000123", "tenant-000123"},
		{"12345678", "12345679"}, {"0123456789abcdef", "0123456789abcdeF"},
		{"0123456789abcdefg", "0123456789abcdefh"}, {strings.Repeat("x", 24), strings.Repeat("x", 23) + "y"},
		{strings.Repeat("x", 25), strings.Repeat("x", 24) + "y"}, {strings.Repeat("x", 24), strings.Repeat("x", 25)},
	} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, a, b string) {
		checkHasKey(t, a, b)
		checkHasKey(t, a, a[:len(a)/2]+b[:len(b)/2])
	})
}
