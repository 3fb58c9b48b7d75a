package usage

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"
)

// TestRunKeysModelR122: events of tenants whose names have 7 to 17 bytes
// (index16's range and around it), with keys of every length about
// words.Short's range (0-17 bytes, and past MaxKeyBytes), variants that
// differ in one byte, and each key a fresh copy, go to the rows a map
// model gives, per tenant and dimension: no two key sets merge.
func TestRunKeysModelR122(t *testing.T) {
	at := time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)
	r := rand.New(rand.NewPCG(122, 7))
	lens := []int{0, 1, 2, 3, 4, 5, 7, 8, 9, 12, 15, 16, 17, 24}
	key := func() string {
		n := lens[r.IntN(len(lens))]
		b := []byte(strings.Repeat("k", n))
		if n > 0 && r.IntN(2) == 0 {
			b[r.IntN(n)] = "jxz"[r.IntN(3)]
		}
		return string(b)
	}
	var tenants []string
	for _, n := range []int{7, 8, 9, 15, 16, 17} {
		tenants = append(tenants, strings.Repeat("t", n), strings.Repeat("t", n-1)+"u", "u"+strings.Repeat("t", n-1))
	}
	for round := range 20 {
		u := newStats(t, 0, 100000)
		model := map[string]*[numDims]map[string]int64{}
		// A few key sets per tenant, repeated in runs of random length, so
		// that runs start and continue with fresh copies.
		// A base set and variants of it, each with one key of the same
		// length but one byte, or another length.
		base := [numDims]string{key(), key(), key(), key(), key()}
		sets := [][numDims]string{base}
		for range 6 {
			v := base
			d := r.IntN(int(numDims))
			if n := len(v[d]); n > 0 && r.IntN(4) > 0 {
				b := []byte(v[d])
				i := r.IntN(n)
				b[i] ^= byte(1 + r.IntN(3))
				v[d] = string(b)
			} else {
				v[d] = key()
			}
			sets = append(sets, v)
		}
		for range 3000 {
			tn := tenants[r.IntN(len(tenants))]
			ks := sets[r.IntN(len(sets))]
			for range 1 + r.IntN(3) {
				c := int64(1 + r.IntN(5))
				record(u, at, strings.Clone(tn), strings.Clone(ks[App]), strings.Clone(ks[Module]), strings.Clone(ks[IP]),
					strings.Clone(ks[User]), strings.Clone(ks[Method]), c, false)
				m := model[tn]
				if m == nil {
					m = &[numDims]map[string]int64{}
					for d := range numDims {
						m[d] = map[string]int64{}
					}
					model[tn] = m
				}
				for d := range numDims {
					m[d][ks[d]] += c
				}
			}
		}
		for tn, m := range model {
			for d := range numDims {
				got := map[string]int64{}
				for _, c := range u.Top(tn, Dimension(d), at, at.Add(time.Hour), 1000) {
					got[c.Key] += c.Credits
				}
				if fmt.Sprint(got) != fmt.Sprint(m[d]) {
					t.Fatalf("round %d tenant %q dimension %d: rows %v, want %v", round, tn, d, got, m[d])
				}
			}
		}
	}
}
