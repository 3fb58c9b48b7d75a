package usage

import (
	"math/rand/v2"
	"strings"
	"testing"
	"unicode/utf8"
)

// validName agrees with utf8.ValidString on every length around its word
// size, with a non-ASCII or invalid byte at every offset.
func TestValidNameAgrees(t *testing.T) {
	check := func(s string) {
		t.Helper()
		if got, want := validName(s), utf8.ValidString(s); got != want {
			t.Fatalf("validName(%q) = %v, ValidString %v", s, got, want)
		}
	}
	for n := 0; n <= 40; n++ {
		base := strings.Repeat("a", n)
		check(base)
		for i := 0; i < n; i++ {
			for _, b := range []byte{0x80, 0xC3, 0xFF, 0x7F, 0x00} {
				x := []byte(base)
				x[i] = b
				check(string(x))
			}
			if i+2 <= n {
				check(base[:i] + "é" + base[i+2:]) // valid, not ASCII
			}
		}
	}
	r := rand.New(rand.NewPCG(3, 4))
	for range 20000 {
		b := make([]byte, r.IntN(70))
		for i := range b {
			b[i] = byte(r.IntN(256))
			if r.IntN(4) > 0 {
				b[i] &= 0x7F
			}
		}
		check(string(b))
	}
}

func FuzzValidName(f *testing.F) {
	f.Add("tenant-000123")
	f.Add("ténant-000123")
	f.Add("\xff\xfe tenant")
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := validName(s), utf8.ValidString(s); got != want {
			t.Fatalf("validName(%q) = %v, ValidString %v", s, got, want)
		}
	})
}

// Unaligned substrings of a larger string, with high bytes just outside
// them and one invalid byte at each place inside: validName reads only
// the substring's bytes, and misses none of them.
func TestValidNameSubstrings(t *testing.T) {
	for n := 0; n <= 24; n++ {
		for off := 0; off < 8; off++ {
			for bad := -1; bad < n; bad++ {
				buf := []byte(strings.Repeat("\xff", off) + strings.Repeat("a", n) + "\xff\xff\xff\xff\xff\xff\xff\xff")
				if bad >= 0 {
					buf[off+bad] = 0x80
				}
				big := string(buf)
				s := big[off : off+n]
				if got, want := validName(s), utf8.ValidString(s); got != want {
					t.Fatalf("validName(%q) (at %d of a larger string) = %v, ValidString %v", s, off, got, want)
				}
			}
		}
	}
}
