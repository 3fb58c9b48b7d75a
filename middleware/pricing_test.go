package middleware

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/creditgate/creditgate/cost"
	"github.com/creditgate/creditgate/limiter"
)

// stallBody yields its bytes, then signals stalled and blocks until release
// is closed, then ends: a client that sent part of a body and stopped.
type stallBody struct {
	r        io.Reader
	stalled  chan<- struct{}
	release  <-chan struct{}
	signaled bool
}

func (s *stallBody) Read(p []byte) (int, error) {
	if n, err := s.r.Read(p); n > 0 || err != io.EOF {
		return n, err
	}
	if !s.signaled {
		s.signaled = true
		s.stalled <- struct{}{}
	}
	<-s.release
	return 0, io.EOF
}

// records is a JSON body of n bytes or a little more: {"data":[0,0,...]}.
func records(n int) string {
	return `{"data":[0` + strings.Repeat(",0", max(n-12, 0)/2) + `]}`
}

// budgetEnv is a handler whose POST /big prices by records up to 4 MiB.
func budgetEnv(t *testing.T, next http.Handler, opts ...Option) (http.Handler, *handler) {
	t.Helper()
	l, err := limiter.New(testPlan(1<<40, 1<<20, 5))
	require.NoError(t, err)
	t.Cleanup(func() { _ = l.Close(context.Background()) })
	ct, err := cost.NewTable(1, cost.Route{Pattern: "POST /big", Pricer: cost.RecordsCost("data", 1<<20, 10, 4<<20)})
	require.NoError(t, err)
	h, err := New(next, l, ct, append([]Option{WithClock(newClock().Now)}, opts...)...)
	require.NoError(t, err)
	return h, h.(*handler)
}

// TestPricingBudget (issue #13 item 3): 100 connections that declared 4 MiB
// bodies on a body-priced route and stalled made the server hold ~580 MB.
// Bodies being priced now hold at most the budget between them; past it a
// request gets 503 at once, and the budget comes back when pricing ends.
func TestPricingBudget(t *testing.T) {
	const budget = 1 << 20
	var cs Counters
	h, hd := budgetEnv(t, okHandler(), WithPricingBudget(budget), WithCounters(&cs))

	release, stalled := make(chan struct{}), make(chan struct{})
	var wg sync.WaitGroup
	codes := make([]int, 3)
	for i := range codes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			body := &stallBody{r: strings.NewReader(records(200_000)), stalled: stalled, release: release}
			r := httptest.NewRequest("POST", "/big", body)
			r.ContentLength = 4 << 20
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, r)
			codes[i] = rec.Code
		}()
		<-stalled
	}
	// Three stalled bodies hold 200 KB and the room of io.ReadAll's current
	// chunk each: a 600 KB body does not fit in what is left.
	held := budget - hd.budget.free.Load()
	assert.GreaterOrEqual(t, held, int64(3*200_000))
	assert.LessOrEqual(t, held, int64(3*260_000))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("POST", "/big", strings.NewReader(records(600_000))))
	assert.Equal(t, http.StatusServiceUnavailable, rec.Code)
	b := decodeBody(t, rec)
	assert.Equal(t, ByBodyBudget, b.By)
	assert.Equal(t, int64(1), b.RetryAfter)
	assert.Equal(t, "1", rec.Header().Get(HeaderRetryAfter))
	assert.Equal(t, int64(1), cs.BudgetRefused.Load())
	assert.Equal(t, held, budget-hd.budget.free.Load(), "the refused request gave back what it took")

	close(release)
	wg.Wait()
	assert.Equal(t, []int{http.StatusOK, http.StatusOK, http.StatusOK}, codes, "the stalled bodies went on whole")
	assert.Equal(t, int64(budget), hd.budget.free.Load(), "every byte came back")
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("POST", "/big", strings.NewReader(records(600_000))))
	assert.Equal(t, http.StatusOK, rec.Code, "the budget is free again")
	assert.Equal(t, int64(budget), hd.budget.free.Load())
}

// The handler reads the whole body, priced or not, and its bytes are not
// counted once pricing ended; a body larger than the budget cannot be
// priced, in shadow mode too.
func TestPricingBudgetAfterPricing(t *testing.T) {
	var got int
	next := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n, err := io.Copy(io.Discard, r.Body)
		assert.NoError(t, err)
		got = int(n)
	})
	for _, opts := range [][]Option{nil, {WithShadowAll()}} {
		h, hd := budgetEnv(t, next, append([]Option{WithPricingBudget(64 << 10)}, opts...)...)
		body := records(40 << 10)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("POST", "/big", strings.NewReader(body)))
		assert.Equal(t, http.StatusOK, rec.Code)
		assert.Equal(t, len(body), got)
		assert.Equal(t, int64(64<<10), hd.budget.free.Load())

		got = -1
		rec = httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("POST", "/big", strings.NewReader(records(100<<10))))
		// Larger than the whole budget: no wait lets it in (413, not 503).
		assert.Equal(t, http.StatusRequestEntityTooLarge, rec.Code, "shadow: %v", opts != nil)
		assert.Equal(t, -1, got, "next never ran")
		assert.Equal(t, int64(64<<10), hd.budget.free.Load())
	}
}

// A cost function that panics gives its bytes back.
func TestPricingBudgetPanic(t *testing.T) {
	l, err := limiter.New(testPlan(100, 5, 5))
	require.NoError(t, err)
	defer l.Close(context.Background())
	ct, err := cost.NewTable(1, cost.Route{Pattern: "POST /p", Pricer: cost.Pricer{MaxBody: 1 << 20, Func: func(r *http.Request) (int64, error) {
		_, _ = io.ReadAll(r.Body)
		panic("cost function")
	}}})
	require.NoError(t, err)
	h, err := New(okHandler(), l, ct, WithPricingBudget(1<<20))
	require.NoError(t, err)
	assert.PanicsWithValue(t, "cost function", func() {
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("POST", "/p", strings.NewReader(records(1000))))
	})
	assert.Equal(t, int64(1<<20), h.(*handler).budget.free.Load())
}

func TestWithPricingBudget(t *testing.T) {
	l := newEnv(t, testPlan(1, 1, 1), okHandler()).l
	for _, n := range []int64{0, -1} {
		_, err := New(okHandler(), l, testCosts(t), WithPricingBudget(n))
		assert.ErrorIs(t, err, ErrBadOption)
	}
	h, err := New(okHandler(), l, testCosts(t))
	require.NoError(t, err)
	assert.Equal(t, int64(DefaultPricingBudget), h.(*handler).budget.free.Load())
}

// Requests without a body, or on tables that price nothing by a function,
// are not copied: next gets the request itself.
func TestNoBodyNoCopy(t *testing.T) {
	var got *http.Request
	next := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { got = r })
	e := newEnv(t, testPlan(100, 5, 5), next)
	r := httptest.NewRequest("POST", "/crm/Leads", nil)
	e.h.ServeHTTP(httptest.NewRecorder(), r)
	assert.Same(t, r, got)

	r = httptest.NewRequest("POST", "/crm/Leads", strings.NewReader(`{"data":[1]}`))
	e.h.ServeHTTP(httptest.NewRecorder(), r)
	assert.NotSame(t, r, got, "a body being priced: next gets a copy")
	assert.True(t, r.Context() == got.Context(), "the copy shares the context")

	l, err := limiter.New(testPlan(100, 5, 5))
	require.NoError(t, err)
	defer l.Close(context.Background())
	ct, err := cost.NewTable(1, cost.Route{Pattern: "POST /x", Cost: 2})
	require.NoError(t, err)
	h, err := New(next, l, ct)
	require.NoError(t, err)
	r = httptest.NewRequest("POST", "/x", strings.NewReader("body"))
	h.ServeHTTP(httptest.NewRecorder(), r)
	assert.Same(t, r, got, "no route reads bodies")
}
