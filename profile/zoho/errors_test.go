package zoho_test

import (
	"context"
	"encoding/json"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/creditgate/creditgate/cost"
	"github.com/creditgate/creditgate/limiter"
	"github.com/creditgate/creditgate/middleware"
	"github.com/creditgate/creditgate/profile/zoho"
)

var t0 = time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)

// zohoServer is the middleware with Zoho's bodies in front of a handler that
// holds requests with ?hold until release is closed.
func zohoServer(t *testing.T, credits, conc int64, release chan struct{}, entered chan struct{}) http.Handler {
	t.Helper()
	l, err := limiter.New(limiter.Plan{Name: "z", Credits: credits, Concurrency: conc,
		SubConcurrency: map[string]int64{zoho.ClassComplex: 1}})
	require.NoError(t, err)
	t.Cleanup(func() { _ = l.Close(context.Background()) })
	ct, err := cost.NewTable(1,
		cost.Route{Pattern: "POST /crm/bulk", Cost: 5, Class: zoho.ClassComplex},
		cost.Route{Pattern: "POST /crm/{module}", Pricer: cost.RecordsCost("data", 1, 10, 64)})
	require.NoError(t, err)
	next := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Has("hold") {
			entered <- struct{}{}
			<-release
		}
	})
	h, err := middleware.New(next, l, ct, middleware.WithErrorBodies(zoho.ErrorBodies{}),
		middleware.WithClock(func() time.Time { return t0 }))
	require.NoError(t, err)
	return h
}

func serve(h http.Handler, method, target, body string) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(method, target, strings.NewReader(body)))
	return rec
}

// decode checks the four keys of Zoho's error object and returns it.
func decode(t *testing.T, rec *httptest.ResponseRecorder) zoho.ErrorBody {
	t.Helper()
	var keys map[string]json.RawMessage
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &keys), "%s", rec.Body)
	assert.Len(t, keys, 4, "Zoho's error object has exactly code, details, message, status")
	var b zoho.ErrorBody
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &b))
	assert.Equal(t, "error", b.Status)
	assert.Equal(t, "application/json; charset=utf-8", rec.Header().Get("Content-Type"))
	assert.Equal(t, "nosniff", rec.Header().Get("X-Content-Type-Options"))
	return b
}

func TestErrorBodiesRefusals(t *testing.T) {
	release, entered := make(chan struct{}), make(chan struct{}, 1)
	h := zohoServer(t, 7, 5, release, entered)
	require.Equal(t, http.StatusOK, serve(h, "POST", "/crm/Leads", `{"data":[{}]}`).Code)
	done := make(chan struct{})
	go func() { defer close(done); serve(h, "POST", "/crm/bulk?hold", "") }()
	<-entered

	rec := serve(h, "POST", "/crm/bulk", "")
	require.Equal(t, http.StatusTooManyRequests, rec.Code)
	b := decode(t, rec)
	five := int64(5)
	assert.Equal(t, zoho.ErrorBody{Code: zoho.CodeTooManyRequests, Status: "error",
		Message: "too many concurrent calls of this API class",
		Details: zoho.ErrorDetails{By: middleware.BySubConcurrency, Class: zoho.ClassComplex, Cost: &five,
			ResetTime: b.Details.ResetTime, RetryAfter: 1}}, b)
	close(release)
	<-done

	rec = serve(h, "POST", "/crm/Leads", `{"data":[{},{}]}`) // 2 credits, 1 left
	require.Equal(t, http.StatusTooManyRequests, rec.Code)
	b = decode(t, rec)
	two, one := int64(2), int64(1)
	assert.Equal(t, zoho.ErrorBody{Code: zoho.CodeTooManyRequests, Status: "error",
		Message: "the API credits for the current window are used up",
		Details: zoho.ErrorDetails{By: middleware.ByCredits, Cost: &two, Limit: 7, Remaining: &one,
			ResetTime: b.Details.ResetTime, RetryAfter: b.Details.RetryAfter}}, b)
	assert.Equal(t, rec.Header().Get("Retry-After"), jsonInt(b.Details.RetryAfter))
	_, err := time.Parse(time.RFC3339, b.Details.ResetTime)
	assert.NoError(t, err)
}

func jsonInt(n int64) string { b, _ := json.Marshal(n); return string(b) }

// A call that costs more than the whole pool (8 credits, a pool of 7) can
// never be admitted: 403 LIMIT_EXCEEDED, by cost, with its cost and the
// limit, and no Retry-After, where a 429 TOO_MANY_REQUESTS would have a
// client retry it forever.
func TestErrorBodiesCostAbovePool(t *testing.T) {
	h := zohoServer(t, 7, 5, nil, nil)
	rec := serve(h, "POST", "/crm/Leads", `{"data":[{},{},{},{},{},{},{},{}]}`)
	require.Equal(t, http.StatusForbidden, rec.Code, "%s", rec.Body)
	assert.Empty(t, rec.Header().Values("Retry-After"))
	eight, seven := int64(8), int64(7)
	assert.Equal(t, zoho.ErrorBody{Code: zoho.CodeLimitExceeded, Status: "error",
		Message: "the API call costs more credits than the organisation's whole allowance",
		Details: zoho.ErrorDetails{By: middleware.ByCost, Cost: &eight, Limit: 7, Remaining: &seven}}, decode(t, rec))
}

func TestErrorBodiesFailures(t *testing.T) {
	h := zohoServer(t, 100, 5, nil, nil)
	rec := serve(h, "POST", "/crm/Leads", `{"data":[<script>`)
	require.Equal(t, http.StatusBadRequest, rec.Code)
	assert.Equal(t, zoho.ErrorBody{Code: zoho.CodeInvalidData, Status: "error",
		Message: "the request cost could not be computed from its body"}, decode(t, rec))
	assert.NotContains(t, rec.Body.String(), "script")

	rec = serve(h, "POST", "/crm/Leads", `{"data":[`+strings.Repeat(" ", 100)+`]}`)
	require.Equal(t, http.StatusRequestEntityTooLarge, rec.Code)
	assert.Equal(t, zoho.ErrorBody{Code: zoho.CodeTooLarge, Status: "error",
		Message: "the request body is larger than the server reads to price it",
		Details: zoho.ErrorDetails{By: middleware.ByBody, Limit: 64}}, decode(t, rec))
}

// Every combination of the optional details is valid JSON with the right
// members.
func TestErrorBodiesAppendFailure(t *testing.T) {
	for _, by := range []string{"", middleware.ByBodyBudget} {
		for _, limit := range []int64{0, 256} {
			for _, retry := range []time.Duration{0, 1500 * time.Millisecond} {
				f := middleware.Failure{Status: http.StatusServiceUnavailable, By: by, Limit: limit,
					RetryAfter: retry, Detail: `"<x>"`}
				raw := zoho.ErrorBodies{}.AppendFailure(nil, f)
				var b zoho.ErrorBody
				require.NoError(t, json.Unmarshal(raw, &b), "%s", raw)
				want := zoho.ErrorBody{Code: zoho.CodeUnavailable, Status: "error", Message: `"<x>"`,
					Details: zoho.ErrorDetails{By: by, Limit: limit}}
				if retry > 0 {
					want.Details.RetryAfter = 2
				}
				assert.Equal(t, want, b)
				assert.NotContains(t, string(raw), "<")
			}
		}
	}
}

// The 429 body is written without allocating, into the middleware's scratch.
func TestErrorBodiesRefusalAllocs(t *testing.T) {
	buf := make([]byte, 0, 320)
	f := middleware.Refusal{By: middleware.ByCredits, Class: zoho.ClassComplex, Cost: math.MaxInt64,
		Limit: math.MaxInt64, Remaining: math.MaxInt64, Reset: t0.Add(math.MaxInt64), RetryAfter: math.MaxInt64}
	assert.Zero(t, testing.AllocsPerRun(100, func() { buf = zoho.ErrorBodies{}.AppendRefusal(buf[:0], f) }))
	assert.LessOrEqual(t, len(buf), 320, "the widest refusal fits the middleware's scratch")
}

// Whatever the class (operator config), the detail and the figures, a body
// is one JSON object of Zoho's shape: the four keys, the class and the
// message back as given (each byte of invalid UTF-8 as U+FFFD), nothing a browser could
// sniff as HTML.
func FuzzErrorBodies(f *testing.F) {
	f.Add("bulk", "a fixed sentence", int64(3), int64(100), int64(-1), int64(1500e6), int64(0))
	f.Add("a\"b\\c\x00\u2028\xff<>&", "\xff\"</script>", int64(math.MinInt64), int64(math.MaxInt64), int64(math.MaxInt64), int64(math.MaxInt64), int64(math.MaxInt64))
	f.Add("\xff\xfe\xed\xa0\x80", "\xc3", int64(0), int64(0), int64(0), int64(0), int64(0))
	f.Add("DAILY", "", int64(0), int64(0), int64(0), int64(-1), int64(math.MinInt64))
	f.Fuzz(func(t *testing.T, class, detail string, cost, limit, remaining, retry, reset int64) {
		check := func(raw []byte, code string) zoho.ErrorBody {
			var top map[string]json.RawMessage
			require.NoError(t, json.Unmarshal(raw, &top), "%s", raw)
			assert.Len(t, top, 4, "%s", raw)
			var b zoho.ErrorBody
			require.NoError(t, json.Unmarshal(raw, &b), "%s", raw)
			assert.Equal(t, code, b.Code)
			assert.Equal(t, "error", b.Status)
			assert.NotContains(t, string(raw), "<")
			return b
		}
		for _, by := range []string{middleware.ByCredits, middleware.ByConcurrency, middleware.BySubConcurrency, middleware.ByTenants, middleware.ByUnavailable, middleware.ByCost, middleware.ByUnits} {
			r := middleware.Refusal{By: by, Class: class, Cost: cost, Units: retry, Limit: limit, Remaining: remaining,
				Reset: t0.Add(time.Duration(reset)), RetryAfter: time.Duration(retry)}
			code := zoho.CodeTooManyRequests
			if by == middleware.ByCost || by == middleware.ByUnits {
				code = zoho.CodeLimitExceeded
			}
			b := check(zoho.ErrorBodies{}.AppendRefusal(nil, r), code)
			assert.Equal(t, by, b.Details.By)
			assert.Equal(t, string([]rune(class)), b.Details.Class)
			require.NotNil(t, b.Details.Cost)
			assert.Equal(t, cost, *b.Details.Cost)
			if by == middleware.ByUnits {
				assert.Equal(t, retry, b.Details.Units)
				assert.Equal(t, limit, b.Details.Limit)
			}
			assert.GreaterOrEqual(t, b.Details.RetryAfter, int64(0))
		}
		for _, status := range []int{http.StatusBadRequest, http.StatusRequestEntityTooLarge, http.StatusServiceUnavailable} {
			fl := middleware.Failure{Status: status, By: class, Detail: detail, Limit: limit, RetryAfter: time.Duration(retry)}
			code := map[int]string{400: zoho.CodeInvalidData, 413: zoho.CodeTooLarge, 503: zoho.CodeUnavailable}[status]
			b := check(zoho.ErrorBodies{}.AppendFailure(nil, fl), code)
			assert.Equal(t, string([]rune(detail)), b.Message)
		}
	})
}
