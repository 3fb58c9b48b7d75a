package cost

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path"
	"runtime"
	"strings"
	"testing"
)

// issueTable is issue #13's part of the Zoho table.
func issueTable(t testing.TB) *Table {
	t.Helper()
	ct, err := NewTable(1,
		Route{Pattern: "GET /crm/v8/{module}", Pricer: QueryParamCost("cvid", 3, 1)},
		Route{Pattern: "GET /crm/v8/{module}/{id}", Cost: 1},
		Route{Pattern: "POST /crm/v8/{module}/upsert", Pricer: RecordsCost("data", 10, 10, 1<<20)},
		Route{Pattern: "POST /crm/v8/coql", Cost: 2, Class: "query"},
		Route{Pattern: "POST /crm/v8/Leads/{id}/actions/convert", Cost: 5, Class: "convert"},
		Route{Pattern: "POST /crm/bulk/v8/read", Cost: 50, Class: "bulk"},
		Route{Pattern: "POST /crm/bulk/v8/jobs/", Cost: 20, Class: "bulk"},
	)
	if err != nil {
		t.Fatal(err)
	}
	return ct
}

func TestUncleanPaths(t *testing.T) {
	// Issue #13: with the middleware in front of a backend that cleans
	// (or unescapes, or folds case in) paths itself, these reached dear
	// routes at the default price and outside their class.
	records := `{"data":[` + strings.Repeat(`{},`, 99) + `{}]}`
	ct := issueTable(t)
	for _, tc := range []struct {
		method, target, body string
		credits              int64
		class, module        string
		unclean              bool
	}{
		{"POST", "/crm/v8/Leads/upsert", records, 10, "", "Leads", false},
		{"POST", "/crm/bulk/v8/read", "", 50, "bulk", "", false},
		{"GET", "/crm/v8/Leads?cvid=1", "", 3, "", "Leads", false},
		{"POST", "/crm/v8/COQL/upsert", records, 10, "", "COQL", false}, // COQL is a module here
		// Cleaning, as ServeMux or the backend does.
		{"POST", "/crm/v8//Leads/upsert", records, 10, "", "Leads", true},
		{"POST", "/crm//bulk/v8/read", "", 50, "bulk", "", true},
		{"POST", "/crm/bulk/v8/./read", "", 50, "bulk", "", true},
		{"POST", "/crm/x/../bulk/v8/read", "", 50, "bulk", "", true},
		{"POST", "/crm/bulk/v8/read/.", "", 50, "bulk", "", true},
		{"GET", "/crm/v8/./Leads?cvid=1", "", 3, "", "Leads", true},
		{"POST", "/crm/bulk/v8/jobs", "", 20, "bulk", "", true}, // ServeMux redirects to jobs/
		// Escaped slashes and dots, for a backend that unescapes first.
		{"POST", "/crm/bulk%2Fv8/read", "", 50, "bulk", "", true},
		{"POST", "/crm/bulk%2fv8%2Fread", "", 50, "bulk", "", true},
		{"POST", "/crm/x/%2E%2E/bulk/v8/read", "", 50, "bulk", "", true},
		{"POST", "/crm/v8/Leads%2Fupsert", records, 10, "", "Leads", true},
		{"POST", "/crm/v8/Le%61ds/upsert", records, 10, "", "Leads", false}, // same path
		// Case, trailing slash, trailing dots, for lenient routers.
		{"POST", "/CRM/BULK/V8/READ", "", 50, "bulk", "", true},
		{"POST", "/crm/V8/coql", "", 2, "query", "", true},
		{"POST", "/crm/v8/leads/1/actions/Convert", "", 5, "convert", "", true},
		{"POST", "/crm/bulk/v8/read/", "", 50, "bulk", "", true},
		{"POST", "/crm/bulk/v8/read.", "", 50, "bulk", "", true},
		{"POST", "/crm/bulk./v8/read..", "", 50, "bulk", "", true},
		{"POST", "/CRM//Bulk%2Fv8/./READ./", "", 50, "bulk", "", true},
		// The dearer reading wins: a records route may cost 10, coql 2.
		{"POST", "/crm/v8/coql%2Fupsert", records, 10, "", "coql", true},
	} {
		r := httptest.NewRequest(tc.method, tc.target, strings.NewReader(tc.body))
		p, err := ct.Lookup(r)
		if err != nil || p.Credits != tc.credits || p.Class != tc.class || p.Module != tc.module || p.Unclean != tc.unclean {
			t.Errorf("%s %s: %+v %v, want %d %q module %q unclean %v",
				tc.method, tc.target, p, err, tc.credits, tc.class, tc.module, tc.unclean)
		}
	}
}

func TestUncleanHost(t *testing.T) {
	// Host patterns go to ServeMux, which matches hosts exactly; DNS
	// names ignore case and a final dot.
	ct, err := NewTable(1, Route{Pattern: "POST api.example.com/bulk", Cost: 50, Class: "bulk"}, Route{Pattern: "/", Cost: 2})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		host, path string
		credits    int64
		unclean    bool
	}{
		{"api.example.com", "/bulk", 50, false},
		{"api.example.com:8443", "/bulk", 50, false},
		{"API.Example.COM", "/bulk", 50, true},
		{"api.example.com.:443", "/bulk", 50, true},
		{"api.example.com", "//bulk", 50, true},
		{"api.example.com", "/x/../bulk", 50, true},
		{"api.example.com", "/bulk/", 50, true},
		{"api.example.com", "/bulk.", 50, true},
		{"api.example.com", "/%62ulk", 50, false},
		{"other.example.com", "/bulk", 2, false},
	} {
		r := &http.Request{Method: "POST", Host: tc.host, URL: mustURL(t, tc.path)}
		p, err := ct.Lookup(r)
		if err != nil || p.Credits != tc.credits || p.Unclean != tc.unclean {
			t.Errorf("%s %s: %+v %v, want %d unclean %v", tc.host, tc.path, p, err, tc.credits, tc.unclean)
		}
	}
}

func mustURL(t testing.TB, s string) *url.URL {
	u, err := url.ParseRequestURI(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func TestLooseViewAllocs(t *testing.T) {
	// The second walk for case, trailing slashes and dots allocates
	// nothing either.
	ct := issueTable(t)
	for _, target := range []string{"/crm/V8/coql", "/crm/v8/leads/1/actions/convert", "/crm/bulk/v8/read/"} {
		r := requestFor("POST", target)
		allocs := testing.AllocsPerRun(100, func() {
			if p, err := ct.Lookup(r); err != nil || p.Credits < 2 {
				t.Fatal(p, err)
			}
		})
		if allocs != 0 {
			t.Errorf("%s: Lookup allocates %v per call", target, allocs)
		}
	}
}

// refClean is the path ServeMux cleans target to, by path.Clean.
func refClean(p string) string {
	if p == "" || p[0] != '/' {
		p = "/" + p
	}
	c := path.Clean(p)
	if strings.HasSuffix(p, "/") && c != "/" {
		c += "/"
	}
	return c
}

// FuzzCleanPrice checks issue #13's property on fuzzed tables (patterns
// separated by newlines; route i costs i+1 in class ci) and requests: a
// request costs at least the route its cleaned path reaches in ServeMux
// (following a /tree to /tree/ redirect), and its class is that route's
// unless another reading of the path costs more; then it is that one's.
func FuzzCleanPrice(f *testing.F) {
	f.Add("POST /crm/v8/{module}/upsert\nPOST /crm/bulk/v8/read", "POST", "/crm//bulk/v8/read")
	f.Add("POST /crm/v8/{module}/upsert\nPOST /crm/bulk/v8/read", "POST", "/crm/bulk%2Fv8/read")
	f.Add("/a/\nGET /a/{x...}\n/{y}", "GET", "/b/../a")
	f.Add("/a/{x}\n/a/{x}/b\n/A/c", "GET", "/a/c/./b/")
	f.Add("GET /e/\n/", "GET", "/e")
	f.Add("api.example.com/b\n/", "GET", "/b/")
	f.Add("/x/{y}\n/x/Y/z", "HEAD", "/x/y./Z")
	f.Fuzz(func(t *testing.T, table, method, target string) {
		ct, routes := fuzzTable(t, table, func(i int, p string) Route {
			return Route{Pattern: p, Cost: int64(i + 1), Class: fmt.Sprint("c", i)}
		})
		r := requestFor(method, target)
		p, err := ct.Lookup(r)
		if err != nil {
			t.Fatal(err)
		}
		class, pattern := "", ""
		if p.Credits > 0 {
			class, pattern = routes[p.Credits-1].Class, routes[p.Credits-1].Pattern
		}
		if p.Class != class || p.Pattern != pattern {
			t.Fatalf("%s %q: %+v: class and pattern not those of the route priced", method, target, p)
		}
		if r.Method == http.MethodConnect {
			return // ServeMux does not clean CONNECT paths
		}
		esc := r.URL.EscapedPath()
		clean := refClean(esc)
		u, _ := url.PathUnescape(clean)
		h, pat := ct.mux.Handler(&http.Request{Method: method, Host: r.Host, URL: &url.URL{Path: u, RawPath: clean}})
		want := -1
		if i, ok := h.(routeIndex); ok {
			want = int(i)
		} else {
			for i, rt := range routes {
				if rt.Pattern == pat { // a redirect names the pattern it reaches
					want = i
				}
			}
		}
		if p.Credits < int64(want+1) || p.Credits == int64(want+1) && want >= 0 && p.Class != routes[want].Class {
			t.Fatalf("%s %q (clean %q) on %+v: %+v, ServeMux serves the clean path with %d", method, target, clean, routes, p, want)
		}
		if clean != esc && !p.Unclean {
			t.Fatalf("%s %q: not reported unclean", method, target)
		}
	})
}

// Java servlet containers (Tomcat, Jetty) and Spring drop a segment's path
// parameters (";jsessionid=x") before routing, so with the middleware in
// front of such a backend "/crm/bulk/v8/read;x" reached the bulk route at
// the default price, outside its class. Path parameters are a loose reading.
func TestUncleanPathParameters(t *testing.T) {
	ct := issueTable(t)
	for _, tc := range []struct {
		method, target string
		credits        int64
		class          string
	}{
		{"POST", "/crm/bulk/v8/read;x", 50, "bulk"},
		{"POST", "/crm/bulk;v=1/v8/read", 50, "bulk"},
		{"POST", "/crm;/bulk/v8;a;b/read;jsessionid=1", 50, "bulk"},
		{"POST", "/crm/v8/Leads/1/actions/convert;x", 5, "convert"},
		{"POST", "/CRM/bulk/v8/read;x./", 50, "bulk"},
	} {
		r := httptest.NewRequest(tc.method, tc.target, nil)
		p, err := ct.Lookup(r)
		if err != nil || p.Credits != tc.credits || p.Class != tc.class || !p.Unclean {
			t.Errorf("%s %s: %+v %v, want %d %q unclean", tc.method, tc.target, p, err, tc.credits, tc.class)
		}
	}
	// Host tables, which ServeMux matches, read them the same way.
	hosts, err := NewTable(1, Route{Pattern: "POST api.example.com/bulk", Cost: 50, Class: "bulk"})
	if err != nil {
		t.Fatal(err)
	}
	r := &http.Request{Method: "POST", Host: "api.example.com", URL: mustURL(t, "/bulk;x")}
	if p, err := hosts.Lookup(r); err != nil || p.Credits != 50 || !p.Unclean {
		t.Errorf("host table, /bulk;x: %+v %v", p, err)
	}
	// Without one, nothing changes.
	if p, err := ct.Lookup(httptest.NewRequest("GET", "/crm/v8/Leads/1", nil)); err != nil || p.Credits != 1 || p.Unclean {
		t.Errorf("plain path: %+v %v", p, err)
	}
}

// A servlet container (Tomcat) and Spring drop path parameters first and then
// normalize the path: "..;" becomes a ".." segment that removes the one
// before it, and ";x" alone an empty segment that collapses. So
// /crm/bulk/x/..;/v8/read and /crm/bulk/v8/;x/read reach the bulk read
// behind such a backend, the classic "..;/" bypass.
func TestUncleanPathParameterSegments(t *testing.T) {
	ct := issueTable(t)
	hosts, err := NewTable(1, Route{Pattern: "POST api.example.com/crm/bulk/v8/read", Cost: 50, Class: "bulk"})
	if err != nil {
		t.Fatal(err)
	}
	for _, target := range []string{
		"/crm/bulk/x/..;/v8/read",
		"/crm/bulk/x/..;y/v8/read",
		"/crm/bulk/v8/read/x/..;",
		"/crm/bulk/v8/;x/read",
		"/crm/bulk/v8/;/read",
		"/crm/bulk/./;x/v8/read",
		"/crm/bulk/v8/read/.;x",
		"/crm/bulk/v8/x.;/../read",
		"/crm/bulk/v8/x/y/..;/..;/read",
	} {
		r := httptest.NewRequest("POST", target, nil)
		if p, err := ct.Lookup(r); err != nil || p.Credits != 50 || p.Class != "bulk" || !p.Unclean {
			t.Errorf("POST %s: %+v %v, want 50 bulk unclean", target, p, err)
		}
		r = &http.Request{Method: "POST", Host: "api.example.com", URL: mustURL(t, target)}
		if p, err := hosts.Lookup(r); err != nil || p.Credits != 50 || p.Class != "bulk" || !p.Unclean {
			t.Errorf("host table, POST %s: %+v %v, want 50 bulk unclean", target, p, err)
		}
	}
}

// The package promises that a path matching a route only case-insensitively
// is priced as that route, and tables with host patterns (matched by
// ServeMux) did not: /CRM/bulk/v8/read reached the bulk read behind a
// case-insensitive backend at the default price. The loose reading of such
// tables folds case as the matcher's does, host routes first, then the
// routes without a host, as ServeMux tries them.
func TestHostTableCaseInsensitive(t *testing.T) {
	ct, err := NewTable(1,
		Route{Pattern: "POST api.example.com/crm/bulk/v8/read", Cost: 50, Class: "bulk"},
		Route{Pattern: "POST api.example.com/crm/v8/{module}/upsert", Cost: 7},
		Route{Pattern: "POST /crm/bulk/v8/write", Cost: 500, Class: "bulk"},
		Route{Pattern: "POST other.example.com/crm/bulk/v8/write", Cost: 2},
		Route{Pattern: "GET /crm/v8/{module}", Cost: 3},
	)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		method, host, target string
		credits              int64
		pattern, module      string
	}{
		{"POST", "api.example.com", "/CRM/bulk/v8/read", 50, "POST api.example.com/crm/bulk/v8/read", ""},
		{"POST", "API.example.com:443", "/crm/BULK/V8/Read/", 50, "POST api.example.com/crm/bulk/v8/read", ""},
		{"POST", "api.example.com", "/crm/V8/Leads/UPSERT", 7, "POST api.example.com/crm/v8/{module}/upsert", "Leads"},
		{"POST", "api.example.com", "/Crm/Bulk/v8/Write", 500, "POST /crm/bulk/v8/write", ""},
		{"POST", "elsewhere.example.com", "/CRM/BULK/V8/WRITE", 500, "POST /crm/bulk/v8/write", ""},
		{"HEAD", "api.example.com", "/CRM/v8/Leads", 3, "GET /crm/v8/{module}", "Leads"},
	} {
		r := &http.Request{Method: tc.method, Host: tc.host, URL: mustURL(t, tc.target)}
		p, err := ct.Lookup(r)
		if err != nil || p.Credits != tc.credits || p.Pattern != tc.pattern || p.Module != tc.module || !p.Unclean {
			t.Errorf("%s %s%s: %+v %v, want %d %q %q unclean", tc.method, tc.host, tc.target, p, err, tc.credits, tc.pattern, tc.module)
		}
	}
	// The other host's own cheap route wins there, as in ServeMux, and the
	// write is dearer only loosely, not for the exact spelling.
	r := &http.Request{Method: "POST", Host: "other.example.com", URL: mustURL(t, "/crm/bulk/v8/write")}
	if p, err := ct.Lookup(r); err != nil || p.Credits != 2 || p.Unclean {
		t.Errorf("other host: %+v %v", p, err)
	}
	r = &http.Request{Method: "POST", Host: "other.example.com", URL: mustURL(t, "/crm/bulk/v8/WRITE")}
	if p, err := ct.Lookup(r); err != nil || p.Credits != 2 {
		t.Errorf("other host, loosely: %+v %v", p, err)
	}
}

// A request without a Host is read loosely by the routes without a host.
func TestHostTableNoHost(t *testing.T) {
	ct, err := NewTable(1,
		Route{Pattern: "POST api.example.com/crm/bulk/v8/read", Cost: 50},
		Route{Pattern: "POST /crm/bulk/v8/write", Cost: 500},
	)
	if err != nil {
		t.Fatal(err)
	}
	r := &http.Request{Method: "POST", URL: mustURL(t, "/CRM/bulk/v8/write")}
	if p, err := ct.Lookup(r); err != nil || p.Credits != 500 || !p.Unclean {
		t.Errorf("no host: %+v %v", p, err)
	}
}

// A server that honours a method override (X-HTTP-Method-Override,
// X-HTTP-Method, X-Method-Override; the client package reads them so too)
// runs GET /crm/bulk/v8/read with "X-HTTP-Method-Override: POST" as the
// bulk read, and the table priced the GET: the default, outside the class.
// Each override is a reading, and the dearest wins.
func TestMethodOverrideReadings(t *testing.T) {
	ct := issueTable(t)
	hosts, err := NewTable(1, Route{Pattern: "POST api.example.com/crm/bulk/v8/read", Cost: 50, Class: "bulk"})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		method, target, header, value string
	}{
		{"GET", "/crm/bulk/v8/read", "X-HTTP-Method-Override", "POST"},
		{"GET", "/crm/bulk/v8/read", "X-HTTP-Method", "post"},
		{"PUT", "/crm/bulk/v8/read", "X-Method-Override", " POST "},
		{"GET", "/crm/bulk/v8//read", "X-HTTP-Method-Override", "POST"},
		{"GET", "/CRM/bulk/v8/read", "X-HTTP-Method-Override", "POST"},
	} {
		for _, table := range []*Table{ct, hosts} {
			r := httptest.NewRequest(tc.method, "http://api.example.com"+tc.target, nil)
			r.Header.Set(tc.header, tc.value)
			p, err := table.Lookup(r)
			if err != nil || p.Credits != 50 || p.Class != "bulk" {
				t.Errorf("%s %s, %s: %s: %+v %v, want 50 bulk", tc.method, tc.target, tc.header, tc.value, p, err)
			}
			if m, err := table.Match(r); err != nil || m.Credits != 50 || m.Class != "bulk" {
				t.Errorf("Match %s %s, %s: %s: %+v %v, want 50 bulk", tc.method, tc.target, tc.header, tc.value, m, err)
			}
		}
	}
	// An override to a cheaper route does not lower the price.
	r := httptest.NewRequest("POST", "/crm/bulk/v8/read", nil)
	r.Header.Set("X-HTTP-Method-Override", "GET")
	if p, err := ct.Lookup(r); err != nil || p.Credits != 50 || p.Class != "bulk" {
		t.Errorf("POST overridden to GET: %+v %v", p, err)
	}
}

// IIS, and Node's URL parsers (WHATWG's for http URLs, and url.parse)
// take a backslash in a path for a slash, so /crm\bulk\v8\read reaches the
// bulk read behind them; ServeMux reads it as one segment, and the table
// priced it at the default. The loose reading splits segments at
// backslashes too.
func TestUncleanBackslashes(t *testing.T) {
	ct := issueTable(t)
	hosts, err := NewTable(1, Route{Pattern: "POST api.example.com/crm/bulk/v8/read", Cost: 50, Class: "bulk"})
	if err != nil {
		t.Fatal(err)
	}
	for _, target := range []string{
		`/crm\bulk\v8\read`,
		`/crm/bulk\v8/read`,
		`/crm/bulk/v8/read\`,
		`/crm/bulk/x\..\v8/read`,
		"/crm/bulk%5Cv8/read",
		`/CRM\BULK/v8\read.`,
	} {
		for _, table := range []*Table{ct, hosts} {
			r := &http.Request{Method: "POST", Host: "api.example.com", URL: mustURL(t, target)}
			if p, err := table.Lookup(r); err != nil || p.Credits != 50 || p.Class != "bulk" || !p.Unclean {
				t.Errorf("POST %s: %+v %v, want 50 bulk unclean", target, p, err)
			}
		}
	}
}

// A segment that matches a literal exactly was never checked against the
// literal's siblings that differ from it only in case, so with routes
// /a/b/c and /a/B/d, the path /a/b/d (which a case-insensitive router
// sends to /a/B/d) missed nothing, took no loose reading and cost the
// default.
func TestLooseCaseTwins(t *testing.T) {
	routes := []Route{{Pattern: "POST /a/b/c", Cost: 2}, {Pattern: "POST /a/B/d", Cost: 50, Class: "bulk"}}
	var many []Route // the literals of a map node
	for i := range maxLitSlice + 2 {
		many = append(many, Route{Pattern: fmt.Sprintf("POST /m/l%d/c", i), Cost: 2})
	}
	many = append(many, Route{Pattern: "POST /m/L0/d", Cost: 50, Class: "bulk"})
	for _, tc := range []struct {
		routes []Route
		paths  []string
	}{
		{routes, []string{"/a/b/d", "/a/b/D", "/a/b//d", "/a/b/d/", "/a/b/%64"}},
		{many, []string{"/m/l0/d", "/m/l0/D/", "/m/./l0/d"}},
	} {
		ct, err := NewTable(1, tc.routes...)
		if err != nil {
			t.Fatal(err)
		}
		for _, path := range tc.paths {
			p, err := ct.Lookup(httptest.NewRequest("POST", path, nil))
			if err != nil || p.Credits != 50 || p.Class != "bulk" || !p.Unclean {
				t.Errorf("POST %s: %+v %v, want 50 bulk unclean", path, p, err)
			}
		}
	}
}

// The loose reading held every segment of a path, however many, in a
// slice grown as it went: a 1 MB path of 500,000 segments ending in a slash
// made Lookup allocate 34 bytes a path byte on a matcher's table and 54 on
// a host table. It now keeps one segment more than the longest pattern has
// (a longer path matches as it would whole). Sizes, not timing.
func TestLooseReadingMemory(t *testing.T) {
	ct := issueTable(t)
	hosts, err := NewTable(1, Route{Pattern: "POST api.example.com/crm/bulk/v8/read", Cost: 50})
	if err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{
		strings.Repeat("/A", 500000) + "/",
		strings.Repeat("/a;", 330000),
		strings.Repeat("/a", 200000) + "/" + strings.Repeat("..;/", 200000) + "crm/bulk/v8/read/",
	} {
		for _, table := range []*Table{ct, hosts} {
			r := &http.Request{Method: "POST", Host: "api.example.com", URL: mustURL(t, path)}
			var p Price
			var m0, m1 runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&m0)
			p, err = table.Lookup(r)
			runtime.ReadMemStats(&m1)
			if perByte := float64(m1.TotalAlloc-m0.TotalAlloc) / float64(len(path)); perByte > 16 {
				t.Errorf("%.20s… (%d bytes): %.1f bytes allocated a path byte", path, len(path), perByte)
			}
			if want := int64(1); strings.HasSuffix(path, "read/") {
				want = 50
				if p.Credits != want || err != nil {
					t.Errorf("%.20s…%s: %+v %v, want %d", path, path[len(path)-20:], p, err, want)
				}
			}
		}
	}
}
