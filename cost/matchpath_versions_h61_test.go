package cost

import (
	"math/rand/v2"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// Helper-61: the case-fold check runs only once no literal is equal
// (1eec0ec). Tables like Zoho's put many literals of one length at one node
// (v2 .. v9) and case twins beside them; on random such tables, and random
// paths spelt in any case, the fast path must price every request as the
// slow path (slowViews, with its loose reading) does: a case twin is never
// priced cheaper by the fast path.

var versionSegs = []string{"crm", "CRM", "Crm", "bulk", "Bulk", "read", "READ", "v2", "v3", "v4", "v5", "v6", "v7", "v8", "v9", "V8", "v10", "ab", "AB"}

func randomVersionPattern(rng *rand.Rand) string {
	var sb strings.Builder
	if rng.IntN(3) == 0 {
		sb.WriteString([]string{"GET ", "POST ", "PUT "}[rng.IntN(3)])
	}
	for range 1 + rng.IntN(4) {
		switch rng.IntN(8) {
		case 0:
			sb.WriteString("/{x}")
		default:
			sb.WriteString("/" + versionSegs[rng.IntN(len(versionSegs))])
		}
	}
	if rng.IntN(5) == 0 {
		sb.WriteString("/")
	}
	return sb.String()
}

func TestMatchPathVersionTwinsAgainstSlow(t *testing.T) {
	rng := rand.New(rand.NewPCG(61, 61))
	tables, folds := 600, 0
	if testing.Short() {
		tables = 100
	}
	for range tables {
		var pats []string
		for range 4 + rng.IntN(20) {
			p := randomVersionPattern(rng)
			if _, err := NewTable(0, routesOf(append(pats, p))...); err == nil {
				pats = append(pats, p)
			}
		}
		ct, err := NewTable(0, routesOf(pats)...)
		if err != nil {
			t.Fatal(err)
		}
		if ct.m == nil {
			continue
		}
		for range 80 {
			var sb strings.Builder
			for range 1 + rng.IntN(4) {
				s := versionSegs[rng.IntN(len(versionSegs))]
				if rng.IntN(3) == 0 {
					b := []byte(s)
					i := rng.IntN(len(b))
					if 'a' <= b[i] && b[i] <= 'z' {
						b[i] -= 'a' - 'A'
					} else if 'A' <= b[i] && b[i] <= 'Z' {
						b[i] += 'a' - 'A'
					}
					s = string(b)
				}
				sb.WriteString("/" + s)
			}
			if rng.IntN(6) == 0 {
				sb.WriteString("/")
			}
			method := []string{"GET", "POST", "PUT", "HEAD"}[rng.IntN(4)]
			r := &http.Request{Method: method, URL: &url.URL{Path: sb.String()}}
			if _, _, st := ct.fastView(r, new(pathCuts)); st&fastLoose != 0 {
				folds++
			}
			checkPrices(t, ct, pats, r)
		}
	}
	if folds < tables {
		t.Fatalf("only %d loose readings in %d tables", folds, tables)
	}
}
