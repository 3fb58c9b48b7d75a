package cost

import (
	"errors"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// unreadBody fails the test if anything reads it.
type unreadBody struct{ t testing.TB }

func (b unreadBody) Read([]byte) (int, error) {
	b.t.Error("Match read the body")
	return 0, io.EOF
}

func TestMatchThenPriceBody(t *testing.T) {
	ct := issueTable(t)
	records := `{"data":[` + strings.Repeat(`{},`, 24) + `{}]}`
	for _, tc := range []struct {
		method, target string
		min, final     int64
		maxBody        int64
	}{
		{"POST", "/crm/v8/Leads/upsert", 1, 3, 1 << 20}, // RecordsCost: min 1
		{"POST", "/crm/bulk/v8/read", 50, 50, 0},
		{"GET", "/crm/v8/Leads?cvid=2", 3, 3, 0}, // QueryParamCost needs no body: final at Match
		{"GET", "/crm/v8/Leads", 1, 1, 0},
		{"POST", "/CRM/v8/Leads/upsert", 1, 3, 1 << 20}, // read loosely
	} {
		r := httptest.NewRequest(tc.method, tc.target, nil)
		r.Body = io.NopCloser(unreadBody{t})
		p, err := ct.Match(r)
		if err != nil || p.Credits != tc.min || p.MaxBody != tc.maxBody {
			t.Errorf("%s %s: Match %+v %v, want %d and max body %d", tc.method, tc.target, p, err, tc.min, tc.maxBody)
			continue
		}
		r.Body = io.NopCloser(strings.NewReader(records))
		if err := ct.PriceBody(r, &p); err != nil || p.Credits != tc.final || p.MaxBody != 0 {
			t.Errorf("%s %s: PriceBody %+v %v, want %d", tc.method, tc.target, p, err, tc.final)
		}
		r.Body = io.NopCloser(strings.NewReader(records))
		if l, err := ct.Lookup(r); err != nil || l != p {
			t.Errorf("%s %s: Lookup %+v %v, Match and PriceBody %+v", tc.method, tc.target, l, err, p)
		}
	}
}

func TestPriceBodyKeepsFloor(t *testing.T) {
	// A reading that costs 5 whatever the body keeps the price at 5 when
	// the records reading counts fewer; more records raise it.
	ct, err := NewTable(1,
		Route{Pattern: "POST /a/{m}", Pricer: RecordsCost("data", 1, 10, 1<<10)},
		Route{Pattern: "POST /a/b/c", Cost: 5, Class: "x"},
	)
	if err != nil {
		t.Fatal(err)
	}
	for body, want := range map[string]int64{`{"data":[1]}`: 5, `{"data":[1,2,3,4,5,6,7]}`: 7} {
		r := httptest.NewRequest("POST", "/a/b%2Fc", strings.NewReader(body))
		p, err := ct.Match(r)
		if err != nil || p.Credits != 5 || p.MaxBody != 1<<10 || p.Class != "x" || !p.Unclean { // the class of the reading that has one
			t.Fatalf("Match %+v %v", p, err)
		}
		if err := ct.PriceBody(r, &p); err != nil || p.Credits != want {
			t.Errorf("%s: %+v %v, want %d", body, p, err, want)
		}
	}
}

func TestPriceBodyError(t *testing.T) {
	ct := issueTable(t)
	r := httptest.NewRequest("POST", "/crm/v8/Leads/upsert", strings.NewReader(`{"data":[`))
	p, err := ct.Match(r)
	if err != nil {
		t.Fatal(err)
	}
	before := p
	if err := ct.PriceBody(r, &p); !errors.Is(err, ErrMalformedBody) || p != before {
		t.Fatalf("%+v %v", p, err)
	}
	// Nothing to read: PriceBody does nothing.
	p = Price{Credits: 7}
	if err := ct.PriceBody(r, &p); err != nil || p.Credits != 7 {
		t.Fatalf("%+v %v", p, err)
	}
}

func TestMatchPricerError(t *testing.T) {
	// A Pricer that needs no body runs at Match; its error names the route.
	boom := errors.New("boom")
	ct, err := NewTable(1, Route{Pattern: "GET /q", Class: "c", Pricer: Pricer{
		Func: func(*http.Request) (int64, error) { return 0, boom }}})
	if err != nil {
		t.Fatal(err)
	}
	p, err := ct.Match(httptest.NewRequest("GET", "/q", nil))
	if !errors.Is(err, boom) || p.Pattern != "GET /q" || p.Class != "c" {
		t.Fatalf("%+v %v", p, err)
	}
}

func TestPricerBounds(t *testing.T) {
	f := func(c int64) func(*http.Request) (int64, error) {
		return func(*http.Request) (int64, error) { return c, nil }
	}
	for _, tc := range []struct {
		pr   Pricer
		want error
	}{
		{Pricer{Func: f(1), Min: -1}, ErrNegative},
		{Pricer{Func: f(1), Max: -1}, ErrNegative},
		{Pricer{Func: f(1), MaxBody: -1}, ErrNegative},
		{Pricer{Func: f(1), Min: 3, Max: 2}, ErrArgs},
	} {
		if _, err := NewTable(1, Route{Pattern: "/a", Pricer: tc.pr}); !errors.Is(err, tc.want) {
			t.Errorf("%+v: %v, want %v", tc.pr, err, tc.want)
		}
	}
	// Results outside the bounds are held to them.
	for c, want := range map[int64]int64{1: 2, 3: 3, 9: 4} {
		ct, err := NewTable(1, Route{Pattern: "/a", Pricer: Pricer{Func: f(c), Min: 2, Max: 4}})
		if err != nil {
			t.Fatal(err)
		}
		if p, err := ct.Lookup(httptest.NewRequest("GET", "/a", nil)); err != nil || p.Credits != want {
			t.Errorf("%d: %+v %v, want %d", c, p, err, want)
		}
	}
	if p := RecordsCost("data", 10, 7, 99); p.Min != 1 || p.Max != 7 || p.MaxBody != 99 {
		t.Errorf("RecordsCost bounds %+v", p)
	}
	if p := QueryParamCost("cvid", 3, 1); p.Min != 1 || p.Max != 3 || p.MaxBody != 0 {
		t.Errorf("QueryParamCost bounds %+v", p)
	}
	for _, p := range []Pricer{RecordsCost("", 1, 1, 1), RecordsCost("data", 1, 0, 1), RecordsCost("data", 1, 1, 0)} {
		if _, err := p.Func(httptest.NewRequest("POST", "/", nil)); !errors.Is(err, ErrArgs) {
			t.Errorf("bad args accepted: %v", err)
		}
	}
	// A body of any size: MaxBody MaxInt64.
	ct, _ := NewTable(1, Route{Pattern: "/a", Pricer: RecordsCost("data", 1, 100, math.MaxInt64)})
	if p, err := ct.Match(httptest.NewRequest("GET", "/a", nil)); err != nil || p.MaxBody != math.MaxInt64 {
		t.Errorf("%+v %v", p, err)
	}
}

func TestMatchAllocs(t *testing.T) {
	ct := issueTable(t)
	r := requestFor("POST", "/crm/v8/Leads/upsert")
	allocs := testing.AllocsPerRun(100, func() {
		if p, err := ct.Match(r); err != nil || p.MaxBody == 0 {
			t.Fatal(p, err)
		}
	})
	if allocs != 0 {
		t.Errorf("Match allocates %v per call", allocs)
	}
}
