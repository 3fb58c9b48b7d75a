package zoho_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/creditgate/creditgate/limiter"
	"github.com/creditgate/creditgate/middleware"
	"github.com/creditgate/creditgate/profile/zoho"
)

// The fact sheet (section 3, secondary v8 quotes) also names Get Records
// with cvid or sort_by, and upserts of more than 10 records, as complex
// APIs. Get Records with either holds the complex class (cap 10) with the
// others; a plain Get Records does not. Upserts are in no class at any
// size: the body tells the large ones, and the middleware takes a class's
// slot before it reads a body (see cost.Pricer's InClass); so are inserts
// and updates, which are not named.
func TestComplexByQueryAndRecords(t *testing.T) {
	ct, err := zoho.CostTable()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		method, path, body string
		credits            int64
		class              string
	}{
		{"GET", "/crm/v8/Leads?cvid=55", "", 3, zoho.ClassComplex},
		{"GET", "/crm/v8/Leads?page=2&cvid=55", "", 3, zoho.ClassComplex},
		{"GET", "/crm/v8/Leads?sort_by=Created_Time&sort_order=desc", "", 1, zoho.ClassComplex},
		{"GET", "/crm/v2.1/Leads?sort_by=Email", "", 1, zoho.ClassComplex},
		{"GET", "/crm/v8/Leads?s%6Frt_by=Email", "", 1, zoho.ClassComplex},  // the key unescaped
		{"GET", "/crm/v8/Leads?sort_by%zz=Email", "", 3, zoho.ClassComplex}, // may be sort_by (or cvid) to another parser
		{"GET", "/crm/v8/Leads", "", 1, ""},
		{"GET", "/crm/v8/Leads?page=2&sort_order=desc", "", 1, ""},
		{"GET", "/crm/v8/Leads/1?sort_by=Email", "", 1, ""}, // one record: not Get Records
		{"POST", "/crm/v8/Deals/upsert", records(11), 2, ""},
		{"POST", "/crm/v8/Deals/upsert", records(100), 10, ""},
		{"POST", "/crm/v2/Deals/upsert", records(11), 2, ""},
		{"POST", "/crm/v8/Deals/upsert", records(10), 1, ""},
		{"POST", "/crm/v8/Deals/upsert", records(1), 1, ""},
		{"POST", "/crm/v8/Deals/upsert", "", 1, ""},
		{"POST", "/crm/v8/Deals", records(11), 2, ""},
		{"PUT", "/crm/v8/Deals", records(100), 10, ""},
	} {
		r := httptest.NewRequest(tc.method, tc.path, strings.NewReader(tc.body))
		p, err := ct.Lookup(r)
		if err != nil || p.Credits != tc.credits || p.Class != tc.class {
			t.Errorf("%s %s with %d bytes: %d credits, class %q (%s), %v; want %d, %q",
				tc.method, tc.path, len(tc.body), p.Credits, p.Class, p.Pattern, err, tc.credits, tc.class)
		}
	}
}

// Through the middleware, with a complex cap of 1: while a Get Records with
// sort_by is in flight, one with cvid is refused for the class, and a plain
// Get Records admitted, and upserts of any size, which hold no class.
func TestComplexByQueryThroughMiddleware(t *testing.T) {
	l, err := limiter.New(limiter.Plan{Name: "z", Credits: 1000, Concurrency: 10,
		SubConcurrency: map[string]int64{zoho.ClassComplex: 1}})
	require.NoError(t, err)
	t.Cleanup(func() { _ = l.Close(context.Background()) })
	ct, err := zoho.CostTable()
	require.NoError(t, err)
	var h http.Handler
	inner := map[string]int{}
	next := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !r.URL.Query().Has("sort_by") {
			return
		}
		// The sort holds the complex slot while these run.
		inner["cvid"] = serve(h, "GET", "/crm/v8/Leads?cvid=4", "").Code
		inner["plain"] = serve(h, "GET", "/crm/v8/Leads", "").Code
		inner["upsert 11"] = serve(h, "POST", "/crm/v8/Leads/upsert", records(11)).Code
		inner["upsert 10"] = serve(h, "POST", "/crm/v8/Leads/upsert", records(10)).Code
	})
	h, err = middleware.New(next, l, ct, middleware.WithClock(func() time.Time { return t0 }))
	require.NoError(t, err)
	assert.Equal(t, http.StatusOK, serve(h, "GET", "/crm/v8/Leads?sort_by=Email", "").Code)
	assert.Equal(t, map[string]int{"cvid": http.StatusTooManyRequests, "plain": http.StatusOK,
		"upsert 11": http.StatusOK, "upsert 10": http.StatusOK}, inner)
}

// records is a body of n records under "data".
func records(n int) string {
	return `{"data":[` + strings.TrimSuffix(strings.Repeat(`{"a":1},`, n), ",") + `]}`
}
