package cost

import (
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// The compiled matcher must pick exactly the route ServeMux.Handler picks
// (including "none" for 404, 405 and every redirect) on every request. These
// tests compare Table.match, which uses the matcher where it can, with
// Table.muxMatch, which asks the ServeMux, on random tables and requests.

var (
	matchMethods = []string{"", "GET", "HEAD", "POST", "DELETE", "CONNECT"}
	matchSegs    = []string{"a", "b", "c", "{w}", "{w}", "{m...}", "{$}", "", "a%62", "a%2Fb"}
	pathSegs     = []string{"a", "b", "c", "ab", "~"}                                 // plain
	oddSegs      = []string{"", ".", "..", "%61", "a%2Fb", "x y", "{w}", "a%62", "é"} // need cleaning or escaping
)

// randomPattern returns a pattern that is often, not always, valid.
func randomPattern(rng *rand.Rand) string {
	var sb strings.Builder
	if m := matchMethods[rng.IntN(len(matchMethods)-1)]; m != "" {
		sb.WriteString(m + " ")
	}
	if rng.IntN(40) == 0 {
		sb.WriteString("example.com")
	}
	n := rng.IntN(4)
	if n == 0 {
		sb.WriteString("/")
	}
	for i := range n {
		seg := matchSegs[rng.IntN(len(matchSegs))]
		if seg == "{w}" {
			seg = fmt.Sprintf("{w%d}", i) // names are unique within a pattern
		}
		sb.WriteString("/" + seg)
	}
	return sb.String()
}

// randomTable registers random patterns, dropping those ServeMux rejects
// (invalid, or in conflict with one already taken).
func randomTable(t testing.TB, rng *rand.Rand) (*Table, []string) {
	var pats []string
	for range 1 + rng.IntN(12) {
		p := randomPattern(rng)
		if _, err := NewTable(0, routesOf(append(pats, p))...); err == nil {
			pats = append(pats, p)
		}
	}
	ct, err := NewTable(0, routesOf(pats)...)
	if err != nil {
		t.Fatal(err)
	}
	return ct, pats
}

// fuzzTable builds the table of the patterns in table (one per line) that
// NewTable accepts together, in order, route i of them made by mk; the fuzz
// targets' tables.
func fuzzTable(t *testing.T, table string, mk func(i int, pattern string) Route) (*Table, []Route) {
	var routes []Route
	for p := range strings.SplitSeq(table, "\n") {
		rt := mk(len(routes), p)
		if _, err := NewTable(0, append(routes, rt)...); err == nil {
			routes = append(routes, rt)
		}
	}
	ct, err := NewTable(0, routes...)
	if err != nil {
		t.Fatal(err)
	}
	return ct, routes
}

func routesOf(patterns []string) []Route {
	rs := make([]Route, len(patterns))
	for i, p := range patterns {
		rs[i] = Route{Pattern: p, Cost: int64(i)}
	}
	return rs
}

func randomPath(rng *rand.Rand) string {
	n := rng.IntN(5)
	if n == 0 {
		return []string{"/", "", "*", "//"}[rng.IntN(4)]
	}
	var sb strings.Builder
	for range n {
		if rng.IntN(8) == 0 {
			sb.WriteString("/" + oddSegs[rng.IntN(len(oddSegs))])
		} else {
			sb.WriteString("/" + pathSegs[rng.IntN(len(pathSegs))])
		}
	}
	if rng.IntN(4) == 0 {
		sb.WriteString("/")
	}
	return sb.String()
}

// requestFor builds the request a server would see for method and the raw
// request path (RawPath set when the escaping is unusual), or nil.
func requestFor(method, raw string) *http.Request {
	u, err := url.ParseRequestURI(raw)
	if err != nil {
		u = &url.URL{Path: raw}
	}
	return &http.Request{Method: method, URL: u, Host: "example.com:8080"}
}

func checkSame(t testing.TB, ct *Table, pats []string, r *http.Request) (fast bool) {
	t.Helper()
	got, want := ct.match(r), ct.muxMatch(r)
	if got != want {
		name := func(i int) string {
			if i < 0 {
				return "none"
			}
			return pats[i]
		}
		t.Fatalf("patterns %q, %s path %q raw %q: matcher %s, ServeMux %s",
			pats, r.Method, r.URL.Path, r.URL.RawPath, name(got), name(want))
	}
	return ct.m != nil && r.Method != http.MethodConnect && fastPath(r.URL)
}

func TestMatchDifferential(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	tables, fast, matched := 1500, 0, 0
	if testing.Short() {
		tables = 200
	}
	for range tables {
		ct, pats := randomTable(t, rng)
		for range 60 {
			r := requestFor(matchMethods[rng.IntN(len(matchMethods))], randomPath(rng))
			if checkSame(t, ct, pats, r) {
				fast++
				if ct.match(r) >= 0 {
					matched++
				}
			}
		}
	}
	// The comparison means something only if the matcher did most of the work.
	if fast < tables*60/3 || matched < tables*60/20 {
		t.Fatalf("matcher used for %d requests, matched %d, of %d", fast, matched, tables*60)
	}
}

func TestMatchPrecedence(t *testing.T) {
	pats := []string{"/", "/a/", "/a/{x}", "/a/b", "GET /a/b", "/a/{x}/{$}", "/c/{rest...}",
		"POST /crm/{m}/upsert", "/d", "/d/{$}", "GET /e/", "/f/{x}/g"}
	ct, err := NewTable(0, routesOf(pats)...)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ method, path, want string }{
		{"GET", "/a/b", "GET /a/b"},
		{"HEAD", "/a/b", "GET /a/b"},
		{"PUT", "/a/b", "/a/b"},
		{"PUT", "/a/z", "/a/{x}"},
		{"PUT", "/a/z/", "/a/{x}/{$}"},
		{"PUT", "/a/z/y", "/a/"},
		{"PUT", "/a", ""}, // redirect to /a/
		{"PUT", "/c/1/2", "/c/{rest...}"},
		{"POST", "/crm/Leads/upsert", "POST /crm/{m}/upsert"},
		{"GET", "/crm/Leads/upsert", "/"},
		{"GET", "/d", "/d"},
		{"GET", "/d/", "/d/{$}"},
		{"GET", "/e", ""},   // redirect to /e/
		{"POST", "/e", "/"}, // GET /e/ does not match POST: no redirect
		{"GET", "/f/1/g", "/f/{x}/g"},
		{"GET", "/f/1/h", "/"},
		{"GET", "/a//b", ""}, // unclean: redirect
	} {
		r := requestFor(tc.method, tc.path)
		checkSame(t, ct, pats, r)
		got := ""
		if i := ct.match(r); i >= 0 {
			got = pats[i]
		}
		if got != tc.want {
			t.Errorf("%s %s: %q, want %q", tc.method, tc.path, got, tc.want)
		}
	}
}

func TestMatchHostPatternsUseServeMux(t *testing.T) {
	pats := []string{"example.com/a", "/a"}
	ct, err := NewTable(0, routesOf(pats)...)
	if err != nil {
		t.Fatal(err)
	}
	if ct.m != nil {
		t.Fatal("a table with a host pattern got a compiled matcher")
	}
	r := requestFor("GET", "/a")
	if got := ct.match(r); got != 0 {
		t.Errorf("host example.com: route %d, want 0", got)
	}
	r.Host = "other.org"
	if got := ct.match(r); got != 1 {
		t.Errorf("host other.org: route %d, want 1", got)
	}
}

func TestFastPath(t *testing.T) {
	for _, tc := range []struct {
		path string
		want bool
	}{
		{"/", true}, {"/a/b", true}, {"/a/b/", true}, {"/a.b/~c", true},
		{"", false}, {"a", false}, {"//", false}, {"/a//b", false}, {"/a/.", false},
		{"/a/../b", false}, {"/a/./", false}, {"/a./b", false}, {"/a/b.", false}, {"/a/.b", true}, {"/a b", false}, {"/a%20b", false}, {"*", false},
	} {
		if got := fastPath(&url.URL{Path: tc.path}); got != tc.want {
			t.Errorf("fastPath(%q) = %v, want %v", tc.path, got, tc.want)
		}
	}
	if fastPath(&url.URL{Path: "/a/b", RawPath: "/a%2Fb"}) {
		t.Error("fastPath accepted a path with a RawPath")
	}
}

func TestLookupMatcherAllocs(t *testing.T) {
	ct, err := NewTable(1, Route{Pattern: "GET /crm/v8/{module}", Cost: 1},
		Route{Pattern: "/crm/v8/{module}/{id}", Cost: 2}, Route{Pattern: "/", Cost: 3})
	if err != nil {
		t.Fatal(err)
	}
	r := requestFor("GET", "/crm/v8/Leads/123")
	allocs := testing.AllocsPerRun(200, func() {
		if p, _ := ct.Lookup(r); p.Credits != 2 || p.Module != "Leads" {
			t.Fatalf("price %+v", p)
		}
	})
	if allocs != 0 {
		t.Errorf("Lookup allocates %v per call", allocs)
	}
}

// FuzzMatch compares the matcher with ServeMux on fuzzed tables (patterns
// separated by newlines; ServeMux rejects what it would not register) and
// requests.
func FuzzMatch(f *testing.F) {
	f.Add("/\n/a/\n/a/{x}\nGET /a/b\n/a/{x}/{$}", "GET", "/a/b")
	f.Add("/a/\nGET /a/{x...}", "HEAD", "/a")
	f.Add("POST /{m}/upsert\n/{$}", "POST", "/Leads/upsert")
	f.Add("/a%2Fb\n/{x}/b", "GET", "/a%2Fb")
	f.Add("/a/{x}/\n/a/b", "PUT", "/a/b")
	f.Add("GET /e/\n/", "GET", "/e")
	f.Add("/x/./y\n/x/{y}", "GET", "/x/./y")
	f.Fuzz(func(t *testing.T, table, method, path string) {
		ct, routes := fuzzTable(t, table, func(i int, p string) Route { return Route{Pattern: p, Cost: int64(i)} })
		pats := make([]string, len(routes))
		for i, rt := range routes {
			pats[i] = rt.Pattern
		}
		checkSame(t, ct, pats, requestFor(method, path))
		checkSame(t, ct, pats, &http.Request{Method: method, URL: &url.URL{Path: path}})
	})
}

// BenchmarkMatch compares the compiled matcher with ServeMux on the same
// table and request.
func BenchmarkMatch(b *testing.B) {
	ct, err := NewTable(1,
		Route{Pattern: "GET /crm/v8/{module}", Cost: 1},
		Route{Pattern: "GET /crm/v8/{module}/{id}", Cost: 1},
		Route{Pattern: "POST /crm/v8/{module}/upsert", Cost: 2, Class: "x"},
		Route{Pattern: "GET /crm/v8/settings/modules", Cost: 1},
		Route{Pattern: "/crm/bulk/v8/", Cost: 5},
	)
	if err != nil {
		b.Fatal(err)
	}
	for _, bc := range []struct {
		name  string
		match func(*http.Request) int
	}{{"impl=matcher", ct.match}, {"impl=servemux", ct.muxMatch}} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				r := requestFor("GET", "/crm/v8/Leads/123")
				for pb.Next() {
					if bc.match(r) != 1 {
						b.Error("wrong route")
						return
					}
				}
			})
		})
	}
}

// pathSegment against strings.Split.
func TestPathSegment(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for range 2000 {
		p := randomPath(rng)
		segs := strings.Split(strings.TrimPrefix(p, "/"), "/")
		for n := range 6 {
			want := ""
			if n < len(segs) {
				want = segs[n]
			}
			if got := pathSegment(p, n); got != want {
				t.Fatalf("pathSegment(%q, %d) = %q, want %q", p, n, got, want)
			}
		}
	}
}

// Paths longer than scanPath takes go to the slow path, with the same route
// and module as a short path would get.
func TestLongPathFallsBack(t *testing.T) {
	pats := []string{"GET /crm/{module}/", "GET /crm/{module}/{id}"}
	ct, err := NewTable(1, Route{Pattern: pats[0], Cost: 3}, Route{Pattern: pats[1], Cost: 2})
	if err != nil {
		t.Fatal(err)
	}
	for _, segs := range []int{3, 4, maxSegs, maxSegs + 1, 40} {
		path := "/crm/Leads" + strings.Repeat("/x", segs-2)
		r := requestFor("GET", path)
		if fast := checkSame(t, ct, pats, r); fast != (segs <= maxSegs) {
			t.Fatalf("%d segments: fast path %v", segs, fast)
		}
		p, err := ct.Lookup(r)
		want := int64(3)
		if segs == 3 {
			want = 2
		}
		if err != nil || p.Module != "Leads" || p.Credits != want {
			t.Fatalf("%d segments: %+v, %v", segs, p, err)
		}
	}
}
