package middleware

import (
	"encoding/json"
	"math"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestRefusalBody(t *testing.T) {
	zero, five := int64(0), int64(5)
	tests := []struct {
		name string
		f    Refusal
		want problem
	}{
		{
			name: "credits",
			f:    Refusal{By: ByCredits, Cost: 5, Limit: 5000, Reset: t0.Add(time.Hour), RetryAfter: time.Hour},
			want: problem{Detail: "the API credits for the current window are used up",
				By: ByCredits, Cost: &five, Limit: 5000, Remaining: &zero,
				ResetTime: "2026-11-22T11:00:00Z", RetryAfter: 3600},
		},
		{
			name: "concurrency",
			f:    Refusal{By: ByConcurrency, Reset: t0, RetryAfter: 100 * time.Millisecond},
			want: problem{Detail: "too many concurrent calls from this application",
				By: ByConcurrency, Cost: &zero, ResetTime: "2026-11-22T10:00:00Z", RetryAfter: 1},
		},
		{
			name: "sub-concurrency",
			f:    Refusal{By: BySubConcurrency, Class: `bu"lk<`, Cost: 5, RetryAfter: time.Second},
			want: problem{Detail: "too many concurrent calls of this API class",
				By: BySubConcurrency, Class: `bu"lk<`, Cost: &five, RetryAfter: 1},
		},
		{
			name: "tenants",
			f:    Refusal{By: ByTenants, RetryAfter: time.Second},
			want: problem{Detail: "the server is busy with too many tenants", By: ByTenants, Cost: &zero, RetryAfter: 1},
		},
		{
			name: "unavailable",
			f:    Refusal{By: ByUnavailable, Cost: 5, RetryAfter: 5 * time.Second},
			want: problem{Detail: "the server cannot check the limits now", By: ByUnavailable, Cost: &five, RetryAfter: 5},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			raw := problemBodies{}.AppendRefusal(nil, tt.f)
			var got problem
			require.NoError(t, json.Unmarshal(raw, &got), "%s", raw)
			tt.want.Type, tt.want.Title, tt.want.Status = "about:blank", "Too Many Requests", 429
			assert.Equal(t, tt.want, got)
		})
	}
}

// The widest refusal the middleware writes fits its scratch: the 429 then
// allocates nothing more.
func TestRefusalBodyFits(t *testing.T) {
	raw := problemBodies{}.AppendRefusal(nil, Refusal{By: BySubConcurrency, Class: "composite",
		Cost: math.MaxInt64, Limit: math.MaxInt64, Remaining: math.MaxInt64,
		Reset: t0.Add(math.MaxInt64), RetryAfter: math.MaxInt64})
	assert.LessOrEqual(t, len(raw), len(refusalScratch{}.body), "%s", raw)
	raw = problemBodies{}.AppendRefusal(nil, Refusal{By: ByCredits, Class: "composite",
		Cost: math.MaxInt64, Limit: math.MaxInt64, Remaining: math.MaxInt64,
		Reset: t0.Add(math.MaxInt64), RetryAfter: math.MaxInt64})
	assert.LessOrEqual(t, len(raw), len(refusalScratch{}.body), "%s", raw)
	buf := make([]byte, 0, len(refusalScratch{}.body))
	assert.Zero(t, testing.AllocsPerRun(100, func() {
		buf = problemBodies{}.AppendRefusal(buf[:0], Refusal{By: ByCredits, Class: "bulk", Reset: t0})
	}))
}

func TestWriteFailure(t *testing.T) {
	for _, tc := range []struct {
		f     Failure
		want  problem
		retry string
	}{
		{Failure{Status: http.StatusRequestEntityTooLarge, By: ByBody, Limit: 1 << 20, Detail: "the request body is too large"},
			problem{By: ByBody, Limit: 1 << 20, Detail: "the request body is too large"}, ""},
		{Failure{Status: http.StatusBadRequest, Detail: "<b>"}, problem{Detail: "<b>"}, ""},
		{Failure{Status: http.StatusServiceUnavailable, By: ByBodyBudget, RetryAfter: 1500 * time.Millisecond, Detail: "busy"},
			problem{By: ByBodyBudget, RetryAfter: 2, Detail: "busy"}, "2"},
	} {
		rec := httptest.NewRecorder()
		writeFailure(rec, problemBodies{}, tc.f)
		assert.Equal(t, tc.f.Status, rec.Code)
		assert.NotContains(t, rec.Body.String(), "<")
		got := decodeBody(t, rec)
		tc.want.Type, tc.want.Title, tc.want.Status = "about:blank", http.StatusText(tc.f.Status), tc.f.Status
		assert.Equal(t, tc.want, got)
		assert.Equal(t, tc.retry, rec.Header().Get(HeaderRetryAfter))
	}
}

// bodiesFunc is an ErrorBodies of the test's own, to see that WithErrorBodies
// reaches every body the middleware writes.
type bodiesFunc struct{}

func (bodiesFunc) ContentType() string { return "text/x-test" }
func (bodiesFunc) AppendRefusal(buf []byte, r Refusal) []byte {
	return append(buf, "refused by "+r.By...)
}
func (bodiesFunc) AppendFailure(buf []byte, f Failure) []byte {
	return append(buf, "failed: "+f.Detail...)
}

func TestWithErrorBodies(t *testing.T) {
	_, err := New(okHandler(), newEnv(t, testPlan(1, 1, 1), okHandler()).l, testCosts(t), WithErrorBodies(nil))
	assert.ErrorIs(t, err, ErrBadOption)

	e := newEnv(t, testPlan(1, 5, 5), okHandler(), WithErrorBodies(bodiesFunc{}))
	require.Equal(t, http.StatusOK, e.do("GET", "/crm/Leads", "").Code)
	rec := e.do("GET", "/crm/Leads", "")
	assert.Equal(t, http.StatusTooManyRequests, rec.Code)
	assert.Equal(t, "refused by credits", rec.Body.String())
	assert.Equal(t, "text/x-test", rec.Header().Get("Content-Type"))
	assert.Equal(t, "nosniff", rec.Header().Get("X-Content-Type-Options"))

	// A spent pool refuses a body-priced route unread (issue #13 item 4); a
	// body that cannot be priced needs a pool with the least price left.
	rec = e.do("POST", "/crm/Leads", "{")
	assert.Equal(t, http.StatusTooManyRequests, rec.Code)
	e = newEnv(t, testPlan(5, 5, 5), okHandler(), WithErrorBodies(bodiesFunc{}))
	rec = e.do("POST", "/crm/Leads", "{")
	assert.Equal(t, http.StatusBadRequest, rec.Code)
	assert.Equal(t, "failed: the request cost could not be computed from its body", rec.Body.String())
	assert.Equal(t, "text/x-test", rec.Header().Get("Content-Type"))
	assert.Equal(t, "nosniff", rec.Header().Get("X-Content-Type-Options"))
}

// Every error response, whatever its status, tells browsers not to sniff it.
func TestErrorResponsesNoSniff(t *testing.T) {
	e := newEnv(t, testPlan(1, 5, 5), okHandler())
	require.Equal(t, http.StatusOK, e.do("GET", "/crm/Leads", "").Code)
	tight := newEnv(t, testPlan(100, 5, 5), okHandler(), WithPricingBudget(64))
	tight.h.(*handler).budget.take(64) // another request's body holds the whole budget
	rich := newEnv(t, testPlan(100, 5, 5), okHandler())
	dash := Dashboard(e.l, WithToken("s3cret"))
	dashDo := func(method, target string) *httptest.ResponseRecorder {
		rec := httptest.NewRecorder()
		dash.ServeHTTP(rec, httptest.NewRequest(method, target, nil))
		return rec
	}
	for _, tc := range []struct {
		rec  *httptest.ResponseRecorder
		want int
	}{
		{e.do("GET", "/crm/Leads", ""), http.StatusTooManyRequests},
		{rich.do("POST", "/crm/Leads", "{"), http.StatusBadRequest},
		{rich.do("POST", "/crm/Leads", `{"data":[`+string(make([]byte, 100))+`]}`), http.StatusRequestEntityTooLarge},
		{e.do("GET", "/crm/Leads", "", HeaderClientID, string(make([]byte, DefaultMaxKeyBytes+1))), http.StatusBadRequest},
		{tight.do("POST", "/crm/Leads", `{"data":[]}`), http.StatusServiceUnavailable},
		{dashDo("GET", "/d/api/summary"), http.StatusUnauthorized},
		{dashDo("POST", "/d/api/summary"), http.StatusMethodNotAllowed},
		{dashDo("GET", "/d/api/top?token=s3cret&dim=x"), http.StatusBadRequest},
		{dashDo("GET", "/d/nothing?token=s3cret"), http.StatusNotFound},
	} {
		assert.Equal(t, tc.want, tc.rec.Code)
		decodeBody(t, tc.rec) // problem details, with nosniff
	}
}
