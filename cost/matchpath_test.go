package cost

import (
	"cmp"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// The fast path (scanPath, matchPath, fastView, price1) must give what the
// general one gives. These tests hold it to the segment walk (match) and to
// slowViews, which read a clean path just as the fast path does.

var cleanSegs = []string{"a", "b", "c", "ab", "~", "A", "B", "Ab", "x.y", "-"}

// randomCleanPath returns a path scanPath accepts, or nearly (one segment
// too many).
func randomCleanPath(rng *rand.Rand) string {
	n := rng.IntN(5)
	if rng.IntN(50) == 0 {
		n = maxSegs - 1 + rng.IntN(3)
	}
	var sb strings.Builder
	for range n {
		sb.WriteString("/" + cleanSegs[rng.IntN(len(cleanSegs))])
	}
	if n == 0 || rng.IntN(4) == 0 {
		sb.WriteString("/")
	}
	return sb.String()
}

// slowPrice prices r as Match (or, with body, Lookup) would without the
// fast path, and without price1: by matchViews' loop over readings. A
// method override header or _method parameter adds overrideViews'
// readings (of the methods it names, which take the fast path when they
// can).
func (t *Table) slowPrice(r *http.Request, body bool) (p Price, err error) {
	var vs views
	t.slowViews(r, &vs)
	if overridden(r) {
		if t.overrideViews(r, &vs); vs.ambiguous {
			return Price{}, ErrAmbiguousMethod
		}
	}
	best, bestHi := 0, int64(-1)
	p.Unclean = vs.unclean
	var class [maxViews]string // each reading's, before the body
	for k := 0; k < vs.n; k++ {
		lo, hi, err := t.bounds(r, vs.v[k].route)
		if err != nil {
			t.name(&p, vs.v[k].route, vs.v[k].module)
			return p, err
		}
		if hi > bestHi {
			best, bestHi = k, hi
		}
		p.Credits = max(p.Credits, lo)
		class[k] = t.class(r, vs.v[k].route, lo)
	}
	t.name(&p, vs.v[best].route, vs.v[best].module)
	for k := 0; k < vs.n; k++ {
		if mb := t.bodyToRead(vs.v[k].route, p.Credits); mb > 0 && (p.MaxBody == 0 || mb < p.MaxBody) {
			p.MaxBody = mb
		}
	}
	// The readings' classes: one, kept (the dearest's, or the first
	// reading's that has one); two, a conflict, p as it stands.
	one := ""
	for _, c := range class[:vs.n] {
		if c != "" && one != "" && c != one {
			return p, ErrClassConflict
		}
		one = cmp.Or(one, c)
	}
	p.Class = one
	if body && p.MaxBody > 0 {
		err = t.priceBody(r, &p, vs.v[:vs.n]...)
	}
	return p, err
}

func TestMatchPathDifferential(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	tables, fast, matched, folds := 1500, 0, 0, 0
	if testing.Short() {
		tables = 200
	}
	for range tables {
		ct, pats := randomTable(t, rng)
		if ct.m == nil {
			continue
		}
		priced := pricedTable(t, rng, pats)
		for range 60 {
			method := matchMethods[rng.IntN(len(matchMethods)-1)] // not CONNECT
			path := randomCleanPath(rng)
			query := []string{"x=1", "", "y=1", "y=1&x=2"}[rng.IntN(4)]
			r := &http.Request{Method: method, URL: &url.URL{Path: path, RawQuery: query}}
			got, _, st := ct.fastView(r, new(pathCuts))
			if st&fastDone == 0 {
				continue
			}
			fast++
			segs, trailing := splitClean(path, false)
			var w walk
			want, wantRedirect := ct.m.lookup(&w, method, segs, trailing)
			redirect, loose := st&fastRedirect != 0, st&fastLoose != 0
			if got != want || redirect != wantRedirect || loose != (w.foldMiss || ct.m.foldTwins || trailing && len(segs) > 0) {
				t.Fatalf("patterns %q, %s %q: fast view %d redirect %v loose %v, match %d %v fold miss %v",
					pats, method, path, got, redirect, loose, want, wantRedirect, w.foldMiss)
			}
			if got >= 0 {
				matched++
			}
			if w.foldMiss {
				folds++
			}
			checkPrices(t, ct, pats, r)
			checkPrices(t, priced, pats, r)
		}
	}
	if fast < tables*60/2 || matched < tables*60/10 || folds < tables {
		t.Fatalf("%d fast paths, %d matched, %d fold misses, of %d", fast, matched, folds, tables*60)
	}
}

// pricedTable is a table of pats whose routes have classes and, some,
// pricers: one that needs the body, one that fails, one from the query.
func pricedTable(t *testing.T, rng *rand.Rand, pats []string) *Table {
	fail := Pricer{Func: func(*http.Request) (int64, error) { return 0, ErrArgs }}
	rs := routesOf(pats)
	for i := range rs {
		// One wildcard of each pattern is {module}, whose segment the
		// price names.
		if w := strings.IndexAny(rs[i].Pattern, "{"); w >= 0 && rs[i].Pattern[w+1] != '$' {
			e := strings.IndexAny(rs[i].Pattern[w:], ".}")
			rs[i].Pattern = rs[i].Pattern[:w+1] + "module" + rs[i].Pattern[w+e:]
		}
		rs[i].Class = []string{"", "c", "d"}[rng.IntN(3)]
		switch rng.IntN(6) {
		case 0:
			rs[i].Pricer = RecordsCost("data", 10, int64(1+rng.IntN(20)), 1<<10)
		case 1:
			rs[i].Pricer = fail
		case 2:
			rs[i].Pricer = QueryParamCost("x", int64(rng.IntN(20)), 1)
			rs[i].Pricer.InClass = func(r *http.Request, credits int64) bool { return credits > 1 || HasQueryParam(r, "y") }
		}
	}
	ct, err := NewTable(int64(rng.IntN(3)), rs...)
	if err != nil {
		t.Fatal(err)
	}
	return ct
}

// checkPrices compares Match and Lookup with slowPrice.
func checkPrices(t *testing.T, ct *Table, pats []string, r *http.Request) {
	t.Helper()
	for _, body := range []bool{false, true} {
		want, wantErr := ct.slowPrice(r, body)
		name, f := "Match", ct.Match
		if body {
			name, f = "Lookup", ct.Lookup
		}
		if p, err := f(r); p != want || (err == nil) != (wantErr == nil) {
			t.Fatalf("patterns %q, %s %q: %s %+v %v, slow path %+v %v",
				pats, r.Method, r.URL.Path, name, p, err, want, wantErr)
		}
	}
}

func TestScanPathCuts(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	for range 5000 {
		path := randomCleanPath(rng)
		var c pathCuts
		if !scanPath(path, &c) {
			if strings.Count(strings.TrimSuffix(path, "/"), "/") <= maxSegs {
				t.Fatalf("scanPath refused %q", path)
			}
			continue
		}
		segs, trailing := splitClean(path, false)
		var buf [maxSegs]string
		if got := c.segs(&buf); strings.Join(got, "|") != strings.Join(segs, "|") || c.trailing != trailing {
			t.Fatalf("%q: segments %q trailing %v, want %q %v", path, got, c.trailing, segs, trailing)
		}
	}
	var c pathCuts
	if long := "/" + strings.Repeat("a", 1<<16); scanPath(long, &c) {
		t.Error("scanPath took a path too long for its offsets")
	}
}

// refFast is the fast path's acceptance by definition: a path ServeMux
// would not clean, of safe bytes only, no segment ending in a dot, at most
// maxSegs segments.
func refFast(p string) bool {
	if p == "" || p[0] != '/' || len(p) >= 1<<16 || cleanPath(p) != p {
		return false
	}
	for i := 0; i < len(p); i++ {
		if c := p[i]; c != '/' && !strings.ContainsRune("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.~$&+,:;=@", rune(c)) {
			return false
		}
	}
	segs, _ := splitClean(p, false)
	return !dotted(segs) && len(segs) <= maxSegs
}

func TestScanPathAcceptance(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	const chars = "ab/./A%é ~-:@?#"
	counts := map[bool]int{}
	for range 50000 {
		path := randomCleanPath(rng)
		if rng.IntN(2) == 0 { // or anything
			b := []byte("/")
			for range rng.IntN(12) {
				b = append(b, chars[rng.IntN(len(chars))])
			}
			path = string(b[rng.IntN(2):])
		}
		var c pathCuts
		ok := scanPath(path, &c)
		if want := refFast(path); ok != want {
			t.Fatalf("scanPath(%q) = %v, want %v", path, ok, want)
		}
		counts[ok]++
	}
	if counts[false] < 10000 || counts[true] < 10000 {
		t.Fatalf("scanPath took %d paths, not %d", counts[true], counts[false])
	}
}

// FuzzFastPrice holds Match and Lookup to slowPrice on fuzzed tables
// (patterns separated by newlines; every third route prices from the body,
// every fifth fails) and the paths the fast path takes.
func FuzzFastPrice(f *testing.F) {
	f.Add("GET /crm/v8/{module}\nGET /crm/v8/{module}/{id}\nGET /crm/v8/settings/modules", "GET", "/crm/v8/Leads/1")
	f.Add("/a/b/c/{module}\n/a/b/{x...}\nGET /a/B/c/", "HEAD", "/a/b/c")
	f.Add("POST /{module}/upsert\n/{$}\n/x/", "POST", "/Leads/upsert/")
	f.Add("/a%2Fb/c\n/a/b/{module}", "PUT", "/a/b/c")
	f.Fuzz(func(t *testing.T, table, method, path string) {
		ct, _ := fuzzTable(t, table, func(i int, p string) Route {
			rt := Route{Pattern: p, Cost: int64(i + 1), Class: fmt.Sprint("c", i)}
			switch i % 15 {
			case 3, 9:
				rt.Pricer = RecordsCost("data", 1, 100, 1<<10)
			case 5, 10:
				rt.Pricer = Pricer{Func: func(*http.Request) (int64, error) { return 0, ErrArgs }}
			}
			return rt
		})
		r := &http.Request{Method: method, URL: &url.URL{Path: path}}
		if _, _, st := ct.fastView(r, new(pathCuts)); st&fastDone != 0 {
			checkPrices(t, ct, nil, r)
		}
	})
}
