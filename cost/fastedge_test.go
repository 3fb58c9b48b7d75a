package cost

import (
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

// The random tables of TestMatchDifferential and TestMatchPathDifferential
// have patterns of at most three segments over five literals, and methods
// GET, HEAD, POST, DELETE or none. These hold the fast path to ServeMux
// (route, and PathValue("module")) and to the slow path (the whole Price)
// where they do not reach: nodes with more than maxLitSlice literal children
// (the map form, with case-folded misses), long literal runs with wildcard
// siblings to backtrack to, patterns and paths of maxSegs-1 to maxSegs+1
// segments, and methods outside stdMethod's switch (PROPFIND, "get").

var (
	edgeLits    = []string{"l0", "l1", "l2", "l3", "l4", "l5", "l6", "l7", "l8", "L8", "l9", "l10", "l11", "v8", "crm"}
	edgeMethods = []string{"", "GET", "HEAD", "POST", "PROPFIND", "get"}
)

// edgePattern returns a pattern (often valid) of up to maxSegs+1 segments,
// mostly literals so that runs form.
func edgePattern(rng *rand.Rand, fan bool) string {
	var sb strings.Builder
	if m := edgeMethods[rng.IntN(len(edgeMethods))]; m != "" && !(fan && rng.IntN(4) != 0) {
		sb.WriteString(m + " ")
	}
	if fan { // many literal children under /crm/v8
		sb.WriteString("/crm/v8")
	}
	n := rng.IntN(5)
	if rng.IntN(4) == 0 {
		n = maxSegs - 2 + rng.IntN(4)
	}
	if n == 0 && !fan {
		sb.WriteString("/")
	}
	for i := range n {
		var seg string
		switch k := rng.IntN(20); {
		case k < 14:
			seg = edgeLits[rng.IntN(len(edgeLits))]
		case k < 17:
			seg = fmt.Sprintf("{w%d}", i) // pricedTable names the first {module}
		case k == 17 && i == n-1:
			seg = "{m...}"
		case k == 18 && i == n-1:
			seg = "{$}"
		default:
			seg = edgeLits[rng.IntN(3)]
		}
		sb.WriteString("/" + seg)
	}
	if n > 0 && rng.IntN(6) == 0 && !strings.HasSuffix(sb.String(), "}") {
		sb.WriteString("/")
	}
	return sb.String()
}

// edgePath instantiates a pattern of pats (or makes a random path): its
// wildcards get literals, some segments change case, lose or gain a tail.
func edgePath(rng *rand.Rand, pats []string) string {
	var segs []string
	trailing := false
	if len(pats) > 0 && rng.IntN(4) != 0 {
		_, _, ps := parsePattern(pats[rng.IntN(len(pats))])
		for _, s := range ps {
			switch {
			case s.multi:
				trailing = true
				for range rng.IntN(3) {
					segs = append(segs, edgeLits[rng.IntN(len(edgeLits))])
				}
			case s.s == "/":
				trailing = true
			case s.wild:
				segs = append(segs, edgeLits[rng.IntN(len(edgeLits))])
			default:
				segs = append(segs, s.s)
			}
		}
	} else {
		for range rng.IntN(maxSegs + 2) {
			segs = append(segs, edgeLits[rng.IntN(len(edgeLits))])
		}
	}
	switch rng.IntN(6) {
	case 0:
		if len(segs) > 0 {
			k := rng.IntN(len(segs))
			segs[k] = strings.ToUpper(segs[k])
		}
	case 1:
		if len(segs) > 0 {
			segs = segs[:len(segs)-1]
		}
	case 2:
		segs = append(segs, edgeLits[rng.IntN(len(edgeLits))])
	case 3:
		trailing = !trailing
	}
	p := "/" + strings.Join(segs, "/")
	if trailing && len(segs) > 0 {
		p += "/"
	}
	return p
}

// muxModule serves r with a ServeMux of pats and returns the pattern it
// served and its PathValue("module"), "" for none.
func servedModule(pats []string, r *http.Request) (pattern, module string) {
	mux := http.NewServeMux()
	for _, p := range pats {
		mux.HandleFunc(p, func(_ http.ResponseWriter, r *http.Request) {
			pattern, module = r.Pattern, r.PathValue("module")
		})
	}
	mux.ServeHTTP(httptest.NewRecorder(), r)
	return pattern, module
}

func TestFastPathEdges(t *testing.T) {
	rng := rand.New(rand.NewPCG(13, 14))
	tables, fast, matched, mapped, folds, long := 600, 0, 0, 0, 0, 0
	if testing.Short() {
		tables = 100
	}
	for range tables {
		var pats []string
		fan := rng.IntN(2) == 0
		count := 4 + rng.IntN(30)
		if fan {
			count += 20
		}
		for range count {
			p := edgePattern(rng, fan)
			if _, err := NewTable(0, routesOf(append(pats, p))...); err == nil {
				pats = append(pats, p)
			}
		}
		ct, err := NewTable(0, routesOf(pats)...)
		if err != nil {
			t.Fatal(err)
		}
		priced := pricedTable(t, rng, pats)
		hasMap := hasLitMap(ct.m.anyMethod)
		for _, mt := range ct.m.methods {
			hasMap = hasMap || hasLitMap(mt.root)
		}
		for range 40 {
			method := edgeMethods[rng.IntN(len(edgeMethods))]
			path := edgePath(rng, pats)
			r := &http.Request{Method: method, URL: &url.URL{Path: path}, Host: "h"}
			checkSame(t, ct, pats, r)
			_, _, st := ct.fastView(r, new(pathCuts))
			if st&fastDone == 0 {
				continue
			}
			fast++
			if hasMap {
				mapped++
			}
			if st&fastLoose != 0 {
				folds++
			}
			if strings.Count(path, "/") >= maxSegs {
				long++
			}
			checkPrices(t, ct, pats, r)
			checkPrices(t, priced, pats, r)
			// The module is ServeMux's PathValue("module") for the
			// route it serves (a single reading, no redirect).
			if i := ct.match(r); i >= 0 && st&(fastMore|fastRedirect) == 0 {
				matched++
				ppats := make([]string, len(priced.routes))
				for k := range priced.routes {
					ppats[k] = priced.routes[k].Pattern
				}
				p, _ := priced.Match(r)
				pattern, module := servedModule(ppats, r)
				if pattern != p.Pattern || strings.Contains(pattern, "{module}") && module != p.Module {
					t.Fatalf("patterns %q, %s %q: Match %q module %q, ServeMux %q module %q",
						ppats, method, path, p.Pattern, p.Module, pattern, module)
				}
			}
		}
	}
	t.Logf("%d fast paths, %d matched, %d in tables with a literal map, %d loose, %d long, of %d",
		fast, matched, mapped, folds, long, tables*40)
	if fast < tables*40/2 || matched < tables*40/10 || mapped < tables*40/5 || folds < tables || long < tables {
		t.Fatalf("%d fast paths, %d matched, %d in tables with a literal map, %d loose, %d long, of %d",
			fast, matched, mapped, folds, long, tables*40)
	}
}

func hasLitMap(n *segNode) bool {
	if n == nil {
		return false
	}
	if n.litMap != nil {
		return true
	}
	for _, l := range n.lits {
		if hasLitMap(l.node) {
			return true
		}
	}
	return hasLitMap(n.wild)
}
