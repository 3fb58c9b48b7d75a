package cost

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

func TestTableSpecificity(t *testing.T) {
	ct, err := NewTable(7,
		Route{Pattern: "/crm/v8/{module}", Cost: 1},
		Route{Pattern: "POST /crm/v8/{module}", Cost: 2},
		Route{Pattern: "POST /crm/v8/Leads", Cost: 3, Class: "x"},
		Route{Pattern: "/crm/v8/{module}/{rest...}", Cost: 4},
		Route{Pattern: "GET api.example.com/crm/v8/{module}", Cost: 5},
	)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		method, url string
		cost        int64
		module      string
	}{
		{"GET", "/crm/v8/Deals", 1, "Deals"},
		{"HEAD", "/crm/v8/Deals", 1, "Deals"},
		{"POST", "/crm/v8/Deals", 2, "Deals"},
		{"POST", "/crm/v8/Leads", 3, ""},
		{"GET", "/crm/v8/Deals/1/2", 4, "Deals"},
		// ServeMux: one segment, {module}; unescaped: {module}/{rest...}.
		{"GET", "/crm/v8/a%2Fb", 4, "a"},
		{"GET", "http://api.example.com/crm/v8/Deals", 5, "Deals"},
		{"GET", "/other", 7, ""},
		{"GET", "/crm/v8/a/../Deals", 1, "Deals"}, // priced as the clean path
	} {
		p, err := ct.Lookup(httptest.NewRequest(tc.method, tc.url, nil))
		if err != nil || p.Credits != tc.cost || p.Module != tc.module {
			t.Errorf("%s %s: %+v %v, want %d %q", tc.method, tc.url, p, err, tc.cost, tc.module)
		}
	}
}

func TestTableEscapedModule(t *testing.T) {
	// ServeMux splits the escaped path: the module was taken from the
	// unescaped one, where a %2F in an earlier segment shifts the index.
	ct, err := NewTable(1,
		Route{Pattern: "POST /crm/{org}/{module}", Cost: 2},
		Route{Pattern: "GET /crm/v8/{module}", Cost: 3},
	)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ method, path, module string }{
		{"POST", "/crm/a%2Fb/Leads", "Leads"},
		{"POST", "/crm/org/Le%2Fads", "Le/ads"},
		{"POST", "/crm/org/Leads", "Leads"},
		{"GET", "/crm/v8/a%2Fb", "a/b"},
		{"GET", "/crm/v8/Le%61ds", "Leads"},
	} {
		r := httptest.NewRequest(tc.method, tc.path, nil)
		p, err := ct.Lookup(r)
		if err != nil || p.Credits == 1 || p.Module != tc.module {
			t.Errorf("%s %s: %+v %v, want module %q", tc.method, tc.path, p, err, tc.module)
		}
	}
}

func TestTableErrors(t *testing.T) {
	for _, routes := range [][]Route{
		{{Pattern: "GET /a/{x}"}, {Pattern: "GET /{y}/b"}}, // conflict
		{{Pattern: "GET /a"}, {Pattern: "GET /a"}},         // duplicate
		{{Pattern: "GET /a/{"}},
		{{Pattern: ""}},
	} {
		if _, err := NewTable(1, routes...); !errors.Is(err, ErrPattern) {
			t.Errorf("%v: got %v", routes, err)
		}
	}
	if _, err := NewTable(-1); !errors.Is(err, ErrNegative) {
		t.Error("negative default accepted")
	}
	if _, err := NewTable(1, Route{Pattern: "/a", Cost: -1}); !errors.Is(err, ErrNegative) {
		t.Error("negative cost accepted")
	}
	ct, _ := NewTable(1, Route{Pattern: "/a", Pricer: Pricer{Func: func(*http.Request) (int64, error) { return -2, nil }}})
	if _, err := ct.Lookup(httptest.NewRequest("GET", "/a", nil)); !errors.Is(err, ErrNegative) {
		t.Error("negative computed cost accepted")
	}
}

func TestRecordsCostRestoresBody(t *testing.T) {
	f := RecordsCost("data", 10, 10, 64).Func
	body := `{"data":[1,2,3,4,5,6,7,8,9,10,11]}`
	r := httptest.NewRequest("POST", "/", strings.NewReader(body))
	c, err := f(r)
	if err != nil || c != 2 {
		t.Fatalf("cost %d %v", c, err)
	}
	got, _ := io.ReadAll(r.Body)
	if string(got) != body {
		t.Fatalf("body not restored: %q", got)
	}
	// Oversized: error, and the whole body still reaches the next reader.
	big := `{"data":[` + strings.Repeat("1,", 100) + `1]}`
	r = httptest.NewRequest("POST", "/", strings.NewReader(big))
	var tooLarge *BodyTooLargeError
	if _, err := f(r); !errors.As(err, &tooLarge) || tooLarge.Limit != 64 {
		t.Fatalf("oversized: %v", err)
	}
	got, _ = io.ReadAll(r.Body)
	if string(got) != big {
		t.Fatal("oversized body not restored whole")
	}
	r = httptest.NewRequest("POST", "/", strings.NewReader(`{"data":[`))
	if _, err := f(r); !errors.Is(err, ErrMalformedBody) {
		t.Fatalf("malformed: %v", err)
	}
	for body, want := range map[string]int64{"": 1, "{}": 1, `{"data":[]}`: 1, `{"data":null}`: 1} {
		c, err := f(httptest.NewRequest("POST", "/", strings.NewReader(body)))
		if err != nil || c != want {
			t.Errorf("%q: %d %v", body, c, err)
		}
	}
	if _, err := RecordsCost("data", 0, 1, 1).Func(r); !errors.Is(err, ErrArgs) {
		t.Error("bad args accepted")
	}
}

func TestRecordsCostKeys(t *testing.T) {
	// encoding/json matched "Data" and "DATA" to the field and let the last
	// duplicate win, while a case-sensitive upstream counts the first
	// "data": such bodies priced 100 records at 1.
	f := RecordsCost("data", 1, 1000, 1<<20).Func
	data := `"data":[` + strings.Repeat("{},", 99) + `{}]`
	for body, want := range map[string]int64{
		`{` + data + `}`:                        100,
		`{"a":{"Data":[]},` + data + `,"b":[]}`: 100, // only the top level counts
		`{"\u0064ata":[1,2,3]}`:                 3,   // the same key, escaped
		`{"datA":null}`:                         0,
		`{` + data + `,"Data":null}`:            0,
		`{` + data + `,"DATA":[]}`:              0,
		`{"DATA":[],` + data + `}`:              0,
		`{` + data + `,"data":[]}`:              0,
		`{"data":[],` + data + `}`:              0,
		`{"data":null,` + data + `}`:            0,
		`{"data":{}}`:                           0,
		`{"data":[1,]}`:                         0,
		`{"data":[1]} {}`:                       0,
		`{"data":[1]`:                           0,
		`[{"data":[1]}]`:                        0,
		` `:                                     0,
	} {
		c, err := f(httptest.NewRequest("POST", "/", strings.NewReader(body)))
		if want == 0 && !errors.Is(err, ErrMalformedBody) || want != 0 && (err != nil || c != want) {
			t.Errorf("%.60s: %d %v, want %d (0: malformed)", body, c, err, want)
		}
	}
}

func TestReadBodyUnlimited(t *testing.T) {
	// maxBody+1 used to wrap to MinInt64: nothing was read, the cost was 1
	// and the next reader got an empty body.
	body := `{"data":[1,2,3]}`
	r := httptest.NewRequest("POST", "/", strings.NewReader(body))
	if c, err := RecordsCost("data", 1, 100, math.MaxInt64).Func(r); err != nil || c != 3 {
		t.Fatalf("cost %d %v, want 3", c, err)
	}
	if got, _ := io.ReadAll(r.Body); string(got) != body {
		t.Fatalf("body not restored: %q", got)
	}
}

func TestReadBodyError(t *testing.T) {
	// A read error must reach the next reader after the bytes read, not
	// turn into a clean EOF that passes a truncated body on.
	body := `{"data":[` + strings.Repeat("1,", 2500) + `1]}`
	r := httptest.NewRequest("POST", "/", strings.NewReader(body))
	r.Body = http.MaxBytesReader(httptest.NewRecorder(), r.Body, 1000)
	var tooBig *http.MaxBytesError
	if _, err := RecordsCost("data", 1, 100, 1<<20).Func(r); !errors.As(err, &tooBig) {
		t.Fatalf("cost error %v, want the MaxBytesError", err)
	}
	got, err := io.ReadAll(r.Body)
	if string(got) != body[:1000] || !errors.As(err, &tooBig) {
		t.Fatalf("next reader got %d bytes and %v, want 1000 and the MaxBytesError", len(got), err)
	}
	if _, err := r.Body.Read(make([]byte, 1)); !errors.As(err, &tooBig) {
		t.Fatalf("error not repeated: %v", err)
	}
}

func TestQueryParamCost(t *testing.T) {
	// Keys are compared unescaped, as url.Query does; a pair net/url would
	// drop for bad escaping may be the parameter, so it costs the higher.
	for _, tc := range []struct {
		query         string
		with, without int64
		want          int64
	}{
		{"", 3, 1, 1},
		{"cvid=5", 3, 1, 3},
		{"a=1&cvid", 3, 1, 3},
		{"cv%69d=5", 3, 1, 3},
		{"%63vid=5&a", 3, 1, 3},
		{"cvi+d=5&cvidx=1&xcvid", 3, 1, 1},
		{"a=%zz&cvi%64%=1", 3, 1, 3},
		{"cvid=%zz", 3, 1, 3},
		{"x=%zz", 3, 1, 1},
		{"p%zz=1", 1, 5, 5},
		{"p=%zz&p", 1, 5, 1}, // present all the same
		{"%70=1", 1, 5, 1},
	} {
		r := httptest.NewRequest("GET", "/?"+tc.query, nil)
		name := "cvid"
		if tc.with < tc.without {
			name = "p"
		}
		if c, err := QueryParamCost(name, tc.with, tc.without).Func(r); err != nil || c != tc.want {
			t.Errorf("%q: %d %v, want %d", tc.query, c, err, tc.want)
		}
	}
	f := QueryParamCost("cvid", 3, 1).Func
	r := httptest.NewRequest("GET", "/?page=2&cvid=5", nil)
	if allocs := testing.AllocsPerRun(100, func() { f(r) }); allocs != 0 {
		t.Errorf("QueryParamCost allocates %v per call on plain keys", allocs)
	}
}

func FuzzQueryParamCost(f *testing.F) {
	f.Add("cvid=1&page=2", "cvid")
	f.Add("cv%69d=1", "cvid")
	f.Add("c%2Bv=1&c+v", "c v")
	f.Add("cvid%=1&cvid=%zz", "cvid")
	f.Add("a;cvid=1&&=", "cvid")
	f.Fuzz(func(t *testing.T, raw, name string) {
		if name == "" {
			return
		}
		vals, err := url.ParseQuery(raw)
		present, unsure := hasParam(raw, name)
		if err == nil && (present != vals.Has(name) || unsure) {
			t.Fatalf("%q has %q: %v (unsure %v), url.ParseQuery says %v", raw, name, present, unsure, vals.Has(name))
		}
		if vals.Has(name) && !present {
			t.Fatalf("%q has %q, hasParam missed it", raw, name)
		}
	})
}

func TestLookupAllocs(t *testing.T) {
	ct, err := NewTable(1, Route{Pattern: "GET /crm/v8/{module}", Cost: 1}, Route{Pattern: "POST /crm/v8/{module}/upsert", Cost: 2})
	if err != nil {
		t.Fatal(err)
	}
	r := httptest.NewRequest("GET", "/crm/v8/Leads", nil)
	allocs := testing.AllocsPerRun(100, func() {
		if p, _ := ct.Lookup(r); p.Module != "Leads" {
			t.Fatal(p)
		}
	})
	if allocs != 0 { // a plainly spelled path takes the compiled matcher
		t.Errorf("Lookup allocates %v per call", allocs)
	}
}

func FuzzTable(f *testing.F) {
	f.Add("GET /crm/v8/{module}", "POST /a/{b...}", "/x/{$}", "/crm/v8/Leads/1")
	f.Add("{", "GET /a/{x}", "GET /{y}/b", "/a/b")
	f.Add("host.com/{module}/", "/{a}/{a}", "", "//")
	f.Add("/crm/{org}/{module}", "/crm/v8/{module}/{id}", "/x/{module...}", "/crm/a%2Fb/Leads")
	f.Add("/crm/{org}/{module}", "/{a}/b/{module}", "/x/{module...}", "/x/a%2F%62/c")
	f.Fuzz(func(t *testing.T, p1, p2, p3, path string) {
		ct, err := NewTable(1, Route{Pattern: p1, Cost: 2}, Route{Pattern: p2, Cost: 3}, Route{Pattern: p3, Cost: 4})
		if err != nil {
			if !errors.Is(err, ErrPattern) {
				t.Fatalf("unexpected error kind: %v", err)
			}
			return
		}
		r, err := http.NewRequest("GET", "http://h"+"/"+strings.TrimPrefix(path, "/"), nil)
		if err != nil {
			return
		}
		p, err := ct.Lookup(r)
		if err != nil || p.Credits < 1 || p.Credits > 4 {
			t.Fatalf("lookup %q: %+v %v", path, p, err)
		}
		// The module is the {module} value ServeMux itself would give.
		mux := http.NewServeMux()
		var pattern, module string
		for _, pat := range []string{p1, p2, p3} {
			mux.HandleFunc(pat, func(_ http.ResponseWriter, r *http.Request) {
				pattern, module = r.Pattern, r.PathValue("module")
			})
		}
		mux.ServeHTTP(httptest.NewRecorder(), r)
		if pattern == p.Pattern && strings.Contains(pattern, "{module}") && module != p.Module {
			t.Fatalf("%q on %q: module %q, ServeMux says %q", path, pattern, p.Module, module)
		}
	})
}

func FuzzRecordsCost(f *testing.F) {
	f.Add([]byte(`{"data":[1,2,3]}`), int64(10))
	f.Add([]byte(`{"data":[`), int64(1))
	f.Add([]byte(`[]`), int64(3))
	f.Add([]byte(`{"data":[1,2,3],"Data":null}`), int64(1))
	f.Add([]byte(`{"DATA":[],"data":[1,2,3]}`), int64(1))
	f.Add([]byte(`{"data":[1,2],"data":[1,2,3]}`), int64(1))
	f.Add([]byte(`{"\u0064ata":[1,2],"x":{"Data":[]}}`), int64(1))
	f.Add([]byte(`{"data":[1]} {"data":[1,2]}`), int64(1))
	f.Fuzz(func(t *testing.T, body []byte, per int64) {
		if per <= 0 || per > 1000 {
			per = 10
		}
		r := httptest.NewRequest("POST", "/", strings.NewReader(string(body)))
		c, err := RecordsCost("data", per, 10, 256).Func(r)
		if err == nil && (c < 1 || c > 10) {
			t.Fatalf("cost %d out of range", c)
		}
		if err == nil && len(body) > 0 {
			// Accepted: valid JSON with at most one key that folds to
			// "data", on which encoding/json cannot go wrong.
			var v struct{ Data []json.RawMessage }
			if json.Unmarshal(body, &v) != nil {
				t.Fatalf("accepted a body encoding/json refuses")
			}
			if want := min(max((int64(len(v.Data))+per-1)/per, 1), 10); c != want {
				t.Fatalf("cost %d, encoding/json counts %d records: %d", c, len(v.Data), want)
			}
		}
		if got, _ := io.ReadAll(r.Body); string(got) != string(body) {
			t.Fatal("body not restored")
		}
	})
}

func TestLookupCostFuncError(t *testing.T) {
	ct, err := NewTable(1, Route{Pattern: "POST /crm/v8/{module}", Pricer: RecordsCost("data", 10, 10, 8), Class: "w"})
	if err != nil {
		t.Fatal(err)
	}
	p, err := ct.Lookup(httptest.NewRequest("POST", "/crm/v8/Leads", strings.NewReader(`{"data":[1,2,3]}`)))
	var tooLarge *BodyTooLargeError
	if !errors.As(err, &tooLarge) || p.Pattern != "POST /crm/v8/{module}" || p.Module != "Leads" || p.Class != "w" {
		t.Fatalf("%+v %v", p, err)
	}
	if got := ct.Routes(); len(got) != 1 || ct.DefaultCost() != 1 {
		t.Fatal("accessors")
	}
	if err.Error() == "" || tooLarge.Error() == "" {
		t.Fatal("messages")
	}
}

func TestCheckClasses(t *testing.T) {
	ct, err := NewTable(1, Route{Pattern: "POST /bulk", Class: "bulk"}, Route{Pattern: "/q", Class: "query"})
	if err != nil {
		t.Fatal(err)
	}
	caps := map[string]int64{"bulk": 1}
	if err := ct.CheckClasses(caps); !errors.Is(err, ErrUnknownClass) {
		t.Fatalf("got %v", err)
	}
	caps["query"] = 2
	if err := ct.CheckClasses(caps); err != nil {
		t.Fatal(err)
	}
}

// CheckUnits names every route above the bound, and none at it.
func TestCheckUnits(t *testing.T) {
	ct, err := NewTable(1, Route{Pattern: "POST /composite", Units: 5}, Route{Pattern: "/q", Units: 9}, Route{Pattern: "/r"})
	if err != nil {
		t.Fatal(err)
	}
	err = ct.CheckUnits(4)
	if !errors.Is(err, ErrTooManyUnits) {
		t.Fatalf("got %v", err)
	}
	want := `cost: route takes more units than any plan admits: "POST /composite" takes 5 units, "/q" takes 9 units (at most 4)`
	if err.Error() != want {
		t.Fatalf("got %q, want %q", err, want)
	}
	if err := ct.CheckUnits(9); err != nil {
		t.Fatal(err)
	}
}

// With an empty segment ("//") before it, the module is the segment
// ServeMux's PathValue reads, an earlier one (golang/go#81222).
func TestModuleSegmentEmptySegments(t *testing.T) {
	for _, tc := range []struct {
		pattern string
		want    int
	}{
		{"/crm/v8/{module}", 2}, {"GET /{org}/{module}/{id}", 1}, {"/x/{module...}", 1},
		{"//{module}", 0}, {"/a//{module}", 1}, {"//{x}/{module}", 1}, {"/{x}//{module}/{y}", 1},
		{"/a/{$}", -1}, {"host.com//{module}", 0},
	} {
		if got := moduleSegment(tc.pattern); got != tc.want {
			t.Errorf("moduleSegment(%q) = %d, want %d", tc.pattern, got, tc.want)
		}
	}
	for _, tc := range []struct{ pattern, path string }{
		{"//{module}", "/s0/s1"}, {"/a//{module}/{id}", "/a/s1/s2/s3"}, {"//{x}/{module}", "/s0/s1/s2"},
	} {
		pat := tc.pattern
		ct, err := NewTable(1, Route{Pattern: pat, Cost: 2})
		if err != nil {
			t.Fatal(err)
		}
		r := httptest.NewRequest("GET", tc.path, nil)
		module := "(not served)"
		mux := http.NewServeMux()
		mux.HandleFunc(pat, func(_ http.ResponseWriter, r *http.Request) { module = r.PathValue("module") })
		mux.ServeHTTP(httptest.NewRecorder(), r)
		if p, err := ct.Lookup(r); err != nil || p.Credits != 2 || p.Module != module {
			t.Errorf("%s on %q: %+v %v, ServeMux's module %q", r.URL.Path, pat, p, err, module)
		}
	}
}

// A pair with a semicolon is one that url.ParseQuery drops (Go 1.17 on),
// but parsers that take ';' as a separator too (Go before 1.17, Python
// before 3.9.2, Rack before 3) read "x=1;cvid=5" as having cvid. It cost
// the price without the parameter, and "cvid=1;x=2", which net/url drops,
// the price with it; like a pair dropped for bad escaping, such a pair
// costs the higher of the two.
func TestQueryParamCostSemicolon(t *testing.T) {
	for _, tc := range []struct {
		query string
		want  int64
	}{
		{"x=1;cvid=5", 3},
		{"cvid;x=1", 3},
		{"x;cvid", 3},
		{"x=1;cv%69d=5&y=2", 3},
		{"x=1;cvidx=5", 1},
		{"x=1;xcvid=5&y", 1},
		{"cvid=1;x=2", 3}, // the key is cvid either way
	} {
		r := httptest.NewRequest("GET", "/?"+tc.query, nil)
		if c, err := QueryParamCost("cvid", 3, 1).Func(r); err != nil || c != tc.want {
			t.Errorf("%q: %d %v, want %d", tc.query, c, err, tc.want)
		}
		r = httptest.NewRequest("GET", "/?"+tc.query, nil)
		if c, err := QueryParamCost("cvid", 1, 3).Func(r); err != nil || c != 3 {
			t.Errorf("%q, dearer without: %d %v, want 3", tc.query, c, err)
		}
	}
}

// A host pattern that no request reaches as written was accepted, and its
// route never priced anything: ServeMux compares the host as written, with
// the request's port stripped, so "Example.COM/a" missed Host example.com
// (the same site), "example.com./a" missed example.com and
// "example.com:8080/a" missed every request. Each is an error naming the
// route.
func TestTableRejectsUnreachableHosts(t *testing.T) {
	for _, pattern := range []string{
		"GET Example.COM/a",
		"API.example.com/",
		"POST example.com./bulk",
		"GET example.com:8080/a",
		"example.com:/a",
	} {
		ct, err := NewTable(1, Route{Pattern: "GET /ok", Cost: 1}, Route{Pattern: pattern, Cost: 50})
		if !errors.Is(err, ErrPattern) || !strings.Contains(fmt.Sprint(err), fmt.Sprintf("%q", pattern)) {
			t.Errorf("%q: table %v, error %v; want ErrPattern naming it", pattern, ct != nil, err)
		}
	}
	// Reachable hosts stay accepted.
	for _, pattern := range []string{"GET example.com/a", "api-2.example.com/", "[::1]/a", "GET 10.0.0.1/a"} {
		if _, err := NewTable(1, Route{Pattern: pattern, Cost: 50}); err != nil {
			t.Errorf("%q: %v", pattern, err)
		}
	}
}

// A pattern's method is compared with the request's byte for byte, and
// clients send methods in capitals, so "post /crm/bulk/v8/read" (a typo for
// POST) was accepted and priced nothing: POST requests to the bulk read cost
// the default. A method with lower-case letters is an error naming the route.
func TestTableRejectsLowerCaseMethods(t *testing.T) {
	for _, pattern := range []string{"post /crm/bulk/v8/read", "Get /a", "pOST example.com/a", "propfind /dav/"} {
		ct, err := NewTable(1, Route{Pattern: pattern, Cost: 50})
		if !errors.Is(err, ErrPattern) || !strings.Contains(fmt.Sprint(err), fmt.Sprintf("%q", pattern)) {
			t.Errorf("%q: table %v, error %v; want ErrPattern naming it", pattern, ct != nil, err)
		}
	}
	for _, pattern := range []string{"POST /a", "PROPFIND /dav/", "M-SEARCH /x", "/a/b"} {
		if _, err := NewTable(1, Route{Pattern: pattern, Cost: 50}); err != nil {
			t.Errorf("%q: %v", pattern, err)
		}
	}
}
