package memory

import (
	"math/rand/v2"
	"strings"
	"testing"
	"unsafe"
)

// checkNameIs checks nameIs, admit's compare of an interned name, against ==.
func checkNameIs(t *testing.T, a, b string) {
	t.Helper()
	if got, want := nameIs(&a, b), a == b; got != want {
		t.Fatalf("nameIs(%q, %q) = %v, want %v", a, b, got, want)
	}
}

// TestNameIsAgrees: nameIs (two words for 8 to 16 bytes, no load for 0,
// == otherwise) agrees with == for names of 0 to 24 bytes and another made
// from each by an edit: a copy, one bit flipped, a prefix, a longer name
// with the same start, or any name.
func TestNameIsAgrees(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	edits := []func(a string) string{
		strings.Clone,
		func(a string) string {
			b := []byte(a)
			if len(b) > 0 {
				b[r.IntN(len(b))] ^= 1 << r.IntN(8)
			}
			return string(b)
		},
		func(a string) string { return a[:r.IntN(len(a)+1)] },
		func(a string) string { return a + randKey(r, r.IntN(9)) },
		func(string) string { return randKey(r, r.IntN(25)) },
	}
	for range 20000 {
		a := randKey(r, r.IntN(25))
		b := edits[r.IntN(len(edits))](a)
		checkNameIs(t, a, b)
		checkNameIs(t, b, a)
	}
}

// TestNameIsAtPageEdge: nameIs reads no byte past either name. Each is put
// at the end of a buffer whose next byte differs: a read past the end
// would see it (and the race detector's checkptr, an out-of-bounds
// pointer).
func TestNameIsAtPageEdge(t *testing.T) {
	for n := 1; n <= 24; n++ {
		ba := []byte(strings.Repeat("a", n) + "X")
		bb := []byte(strings.Repeat("a", n) + "Y")
		a, b := unsafe.String(&ba[0], n), unsafe.String(&bb[0], n)
		checkNameIs(t, a, b)
		bb[n-1] = 'b'
		checkNameIs(t, a, b)
	}
}

// FuzzNameIs: nameIs agrees with == on any pair of names.
func FuzzNameIs(f *testing.F) {
	for _, s := range [][2]string{
		{"", ""}, {"", "a"}, {"bulk", "bulk"}, {"crm-sync", "crm-sync"}, {"crm-sync", "crm-synd"},
		{"0123456789abcdef", "0123456789abcdeF"}, {"0123456789abcdefg", "0123456789abcdefh"},
	} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, a, b string) {
		checkNameIs(t, a, b)
		checkNameIs(t, a, a[:len(a)/2]+b[:len(b)/2])
	})
}
