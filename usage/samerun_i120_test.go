package usage

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// A tenant's run ends when any key differs in any byte: keys of 2 to 16
// bytes, compared by words.Short, that differ only at their first, middle
// or last byte each keep a row of their own, as do keys outside that
// range (compared by Equal). Each key is a fresh copy, as a caller's
// strings per request are, so no compare is settled by pointers.
func TestRunKeysDifferInOneByte(t *testing.T) {
	at := time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)
	for _, n := range []int{0, 1, 2, 3, 4, 5, 7, 8, 9, 13, 16, 17, 40} {
		for _, pos := range []int{0, n / 2, n - 1} {
			if n == 0 && pos != 0 {
				continue
			}
			for d := range numDims {
				u := newStats(t, 0, 100)
				base := strings.Repeat("k", n)
				other := "x" // what an empty key becomes: one more byte
				if n > 0 {
					b := []byte(base)
					b[pos] = 'j'
					other = string(b)
				}
				keys := func(k string) [numDims]string {
					ks := [numDims]string{"app", "mod", "ip", "user", "GET"}
					ks[d] = strings.Clone(k)
					return ks
				}
				// The same tenant, the other key every third call: runs
				// of two, each compared with the run before.
				for i := range 30 {
					k := base
					if i%3 == 2 {
						k = other
					}
					ks := keys(k)
					record(u, at, "t", strings.Clone(ks[App]), strings.Clone(ks[Module]), strings.Clone(ks[IP]),
						strings.Clone(ks[User]), strings.Clone(ks[Method]), 2, false)
				}
				got := fmt.Sprint(u.Top("t", Dimension(d), at, at.Add(time.Hour), 10))
				want := fmt.Sprint([]Count{{Key: base, Credits: 40, Calls: 20}, {Key: other, Credits: 20, Calls: 10}})
				if got != want {
					t.Fatalf("%d bytes differing at %d in dimension %d: Top = %s, want %s", n, pos, d, got, want)
				}
			}
		}
	}
}
