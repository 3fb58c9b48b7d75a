package client_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/creditgate/creditgate/middleware/client"
)

// script answers with the given responses in turn (the last one repeats),
// each a status, a body and header pairs.
type script struct {
	steps []step
	calls atomic.Int64
}

type step struct {
	status int
	body   string
	hdr    []string
}

func (s *script) RoundTrip(r *http.Request) (*http.Response, error) {
	i := int(s.calls.Add(1)) - 1
	st := s.steps[min(i, len(s.steps)-1)]
	if r.Body != nil {
		_, _ = io.Copy(io.Discard, r.Body)
		_ = r.Body.Close()
	}
	return response(r, st.status, st.body, st.hdr...), nil
}

// advancing runs get in a goroutine and advances clk by step each time a
// timer is pending, until get returns.
func advancing(t *testing.T, clk *fakeClock, step time.Duration, f func() (*http.Response, error)) (*http.Response, error) {
	t.Helper()
	type result struct {
		resp *http.Response
		err  error
	}
	done := make(chan result, 1)
	go func() { r, err := f(); done <- result{r, err} }()
	for {
		select {
		case r := <-done:
			return r.resp, r.err
		default:
		}
		if clk.pending() > 0 {
			clk.Advance(step)
		}
		runtime.Gosched()
	}
}

// A concurrency 429 (the credits are there) is retried after a short
// full-jitter backoff, and the retry is counted.
func TestRetryConcurrency429(t *testing.T) {
	clk := newClock()
	s := &script{steps: []step{
		{429, `{"code":"TOO_MANY_REQUESTS","details":{"by":"concurrency"}}`, []string{"X-Ratelimit-Remaining", "80"}},
		{200, "ok", nil},
	}}
	tr := newTransport(t, s, clk, client.WithPlan(plan(100, 5)))
	resp, err := advancing(t, clk, time.Second, func() (*http.Response, error) {
		return get(context.Background(), tr, "", "/crm/Leads")
	})
	require.NoError(t, err)
	body, _ := io.ReadAll(resp.Body)
	require.NoError(t, resp.Body.Close())
	assert.Equal(t, "ok", string(body))
	asked := clk.Asked()
	require.NotEmpty(t, asked)
	assert.LessOrEqual(t, asked[0], 100*time.Millisecond, "first backoff within the base")
	st := stat(tr, client.DefaultIntegration)
	assert.Equal(t, int64(1), st.Retries)
	assert.Equal(t, int64(1), st.Throttled)
	assert.Equal(t, int64(1), st.Credits, "the refused attempt was refunded")
}

// A concurrency 429 that says Retry-After (as the server middleware's
// does: a second) is not retried sooner: the short backoff is for a
// refusal that says nothing of when to come back.
func TestRetryConcurrency429HonoursRetryAfter(t *testing.T) {
	clk := newClock()
	s := &script{steps: []step{
		{429, `{"code":"TOO_MANY_REQUESTS","details":{"by":"concurrency"}}`,
			[]string{"X-Ratelimit-Remaining", "80", "Retry-After", "30"}},
		{200, "ok", nil},
	}}
	tr := newTransport(t, s, clk, client.WithPlan(plan(100, 5)))
	resp, err := advancing(t, clk, time.Minute, func() (*http.Response, error) {
		return get(context.Background(), tr, "", "/crm/Leads")
	})
	require.NoError(t, err)
	require.NoError(t, resp.Body.Close())
	asked := clk.Asked()
	require.NotEmpty(t, asked)
	assert.GreaterOrEqual(t, asked[0], 30*time.Second, "not retried before Retry-After")
	assert.LessOrEqual(t, asked[0], 36*time.Second, "capped jitter")
	assert.Equal(t, int64(2), s.calls.Load())
}

// The exponential backoff stays within MaxBackoff at every attempt, also
// where Backoff shifted by the attempt overflows (20 s << 29): no retry
// goes out at once.
func TestBackoffNoOverflow(t *testing.T) {
	clk := newClock()
	s := &script{steps: []step{{429, "", nil}}}
	tr := newTransport(t, s, clk, client.WithPlan(plan(100, 5)), client.WithRetry(client.RetryPolicy{
		MaxAttempts: 31, Backoff: 20 * time.Second, MaxBackoff: time.Minute, BudgetFloor: 1000}))
	resp, err := advancing(t, clk, time.Minute, func() (*http.Response, error) {
		return get(context.Background(), tr, "", "/crm/Leads")
	})
	require.NoError(t, err)
	require.NoError(t, resp.Body.Close())
	assert.Equal(t, int64(31), s.calls.Load())
	asked := clk.Asked()
	assert.Len(t, asked, 30, "every retry waited")
	for i, d := range asked {
		assert.True(t, d > 0 && d <= time.Minute, "retry %d after %v", i+1, d)
	}
}

// An absurd pool size (a limit of 0) beside a Retry-After leaves the pool
// headers out, not the Retry-After: the retry still waits for it.
func TestRetryAfterBesideAbsurdLimit(t *testing.T) {
	clk := newClock()
	s := &script{steps: []step{{429, "", []string{"X-Ratelimit-Limit", "0", "Retry-After", "30"}}, {200, "", nil}}}
	tr := newTransport(t, s, clk, client.WithPlan(plan(100, 5)))
	resp, err := advancing(t, clk, time.Minute, func() (*http.Response, error) {
		return get(context.Background(), tr, "", "/crm/Leads")
	})
	require.NoError(t, err)
	require.NoError(t, resp.Body.Close())
	asked := clk.Asked()
	require.NotEmpty(t, asked)
	assert.GreaterOrEqual(t, asked[0], 30*time.Second, "not retried before Retry-After")
}

// Retry-After is honoured, capped, with a positive jitter.
func TestRetryAfterCappedJittered(t *testing.T) {
	for _, tc := range []struct {
		name       string
		retryAfter string
		lo, hi     time.Duration
	}{
		{"short", "30", 30 * time.Second, 36 * time.Second},
		{"capped", "2592000", 5 * time.Minute, 6 * time.Minute}, // 30 days
		{"date", t0.Add(2 * time.Minute).Format(http.TimeFormat), 2 * time.Minute, 2*time.Minute + 24*time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clk := newClock()
			s := &script{steps: []step{{429, "", []string{"Retry-After", tc.retryAfter}}, {200, "", nil}}}
			tr := newTransport(t, s, clk, client.WithPlan(plan(100, 5)))
			resp, err := advancing(t, clk, time.Hour, func() (*http.Response, error) {
				return get(context.Background(), tr, "", "/crm/Leads")
			})
			require.NoError(t, err)
			require.NoError(t, resp.Body.Close())
			d := clk.Asked()[0]
			assert.GreaterOrEqual(t, d, tc.lo)
			assert.LessOrEqual(t, d, tc.hi)
		})
	}
}

// A Retry-After too far for the header parser to read (more than a year, a
// number past any clock, a negative delay, as an overflowed one reads) is a
// wait past the cap: the retry waits the cap, as for any Retry-After above
// it, never the short backoff; with a deadline, the refusal is at once.
// Garbage that is neither a number nor a date is ignored (RFC 9110): the
// short backoff.
func TestRetryAfterBeyondParser(t *testing.T) {
	for _, tc := range []struct {
		name, retryAfter string
		lo, hi           time.Duration
	}{
		{"seconds", "99999999999", 5 * time.Minute, 6 * time.Minute},
		{"digits", "99999999999999999999999", 5 * time.Minute, 6 * time.Minute},
		{"date", "Fri, 31 Dec 9999 23:59:59 GMT", 5 * time.Minute, 6 * time.Minute},
		{"negative", "-5", 5 * time.Minute, 6 * time.Minute},
		{"garbage", "soon", 0, 100 * time.Millisecond},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clk := newClock()
			s := &script{steps: []step{{429, "", []string{"Retry-After", tc.retryAfter}}, {200, "", nil}}}
			tr := newTransport(t, s, clk, client.WithPlan(plan(100, 5)))
			resp, err := advancing(t, clk, time.Hour, func() (*http.Response, error) {
				return get(context.Background(), tr, "", "/crm/Leads")
			})
			require.NoError(t, err)
			require.NoError(t, resp.Body.Close())
			asked := clk.Asked()
			require.NotEmpty(t, asked)
			assert.GreaterOrEqual(t, asked[0], tc.lo)
			assert.LessOrEqual(t, asked[0], tc.hi)
			assert.Equal(t, int64(2), s.calls.Load())
		})
		if tc.name == "garbage" {
			continue
		}
		t.Run(tc.name+"/deadline", func(t *testing.T) {
			clk := newClock()
			s := &script{steps: []step{{429, "", []string{"Retry-After", tc.retryAfter}}}}
			tr := newTransport(t, s, clk, client.WithPlan(plan(100, 5)))
			ctx, cancel := context.WithDeadline(context.Background(), t0.Add(time.Hour))
			defer cancel()
			_, err := get(ctx, tr, "", "/crm/Leads")
			var le *client.LimitError
			require.ErrorAs(t, err, &le)
			assert.Equal(t, client.ReasonCredits, le.Reason)
			assert.True(t, le.Deadline)
			assert.True(t, le.RetryAt.IsZero(), "when is past what the client reads")
			assert.Equal(t, 429, le.Status)
			assert.Equal(t, int64(1), s.calls.Load(), "never retried")
		})
	}
}

// A credits 429 whose reset is after the context's deadline fails at once
// with a LimitError saying when the credits return.
func TestCredits429PastDeadline(t *testing.T) {
	clk := newClock()
	s := &script{steps: []step{{429, `{"code":"LIMIT_EXCEEDED"}`, []string{"Retry-After", "3600"}}}}
	tr := newTransport(t, s, clk, client.WithPlan(plan(100, 5)))
	ctx, cancel := context.WithDeadline(context.Background(), t0.Add(time.Minute))
	defer cancel()
	_, err := get(ctx, tr, "", "/crm/Leads")
	var le *client.LimitError
	require.ErrorAs(t, err, &le)
	assert.Equal(t, client.ReasonCredits, le.Reason)
	assert.Equal(t, t0.Add(time.Hour), le.RetryAt)
	assert.Equal(t, 429, le.Status)
	assert.Equal(t, int64(1), s.calls.Load(), "never retried")
}

// When the attempts run out, the last response reaches the caller whole.
func TestRetriesRunOutLastResponseIntact(t *testing.T) {
	clk := newClock()
	long := strings.Repeat("x", 5000) // longer than what classify reads
	s := &script{steps: []step{{429, "first", nil}, {429, "second " + long, nil}}}
	tr := newTransport(t, s, clk, client.WithPlan(plan(100, 5)), client.WithRetry(client.RetryPolicy{MaxAttempts: 2}))
	resp, err := advancing(t, clk, time.Minute, func() (*http.Response, error) {
		return get(context.Background(), tr, "", "/crm/Leads")
	})
	require.NoError(t, err)
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.NoError(t, resp.Body.Close())
	assert.Equal(t, 429, resp.StatusCode)
	assert.Equal(t, "second "+long, string(body))
	assert.Equal(t, int64(2), s.calls.Load())
	assert.Equal(t, int64(100), remaining(tr, clk), "refused attempts cost nothing")
}

// Only replayable requests are retried: a POST without GetBody is not.
func TestOnlyReplayableRetried(t *testing.T) {
	clk := newClock()
	s := &script{steps: []step{{429, "", nil}, {200, "", nil}}}
	tr := newTransport(t, s, clk, client.WithPlan(plan(100, 5)))
	r, _ := http.NewRequest(http.MethodPost, "http://api.test/crm/Leads", io.NopCloser(strings.NewReader("{}")))
	resp, err := tr.RoundTrip(r)
	require.NoError(t, err)
	require.NoError(t, resp.Body.Close())
	assert.Equal(t, 429, resp.StatusCode)
	assert.Equal(t, int64(1), s.calls.Load())

	// With GetBody and an Idempotency-Key it is, and the body is replayed.
	var bodies []string
	replay := rtFunc(func(r *http.Request) (*http.Response, error) {
		b, _ := io.ReadAll(r.Body)
		bodies = append(bodies, string(b))
		if len(bodies) == 1 {
			return response(r, 429, "", "X-Ratelimit-Remaining", "50"), nil
		}
		return response(r, 200, "", nil...), nil
	})
	tr2 := newTransport(t, replay, clk, client.WithPlan(plan(100, 5)))
	r2, _ := http.NewRequest(http.MethodPost, "http://api.test/crm/Leads", bytes.NewReader([]byte(`{"a":1}`)))
	r2.Header.Set("Idempotency-Key", "k1")
	resp, err = advancing(t, clk, time.Second, func() (*http.Response, error) { return tr2.RoundTrip(r2) })
	require.NoError(t, err)
	require.NoError(t, resp.Body.Close())
	assert.Equal(t, []string{`{"a":1}`, `{"a":1}`}, bodies)
}

// 5xx responses are not retried by default, and are with Retry5xx.
func TestRetry5xx(t *testing.T) {
	clk := newClock()
	s := &script{steps: []step{{503, "", nil}, {200, "", nil}}}
	tr := newTransport(t, s, clk, client.WithPlan(plan(100, 5)))
	resp := mustGet(t, tr, "", "/crm/Leads")
	assert.Equal(t, 503, resp.StatusCode)
	assert.Equal(t, int64(100), remaining(tr, clk), "a 5xx is refunded")

	s2 := &script{steps: []step{{503, "", nil}, {200, "", nil}}}
	tr2 := newTransport(t, s2, clk, client.WithPlan(plan(100, 5)), client.WithRetry(client.RetryPolicy{Retry5xx: true}))
	resp, err := advancing(t, clk, time.Second, func() (*http.Response, error) {
		return get(context.Background(), tr2, "", "/crm/Leads")
	})
	require.NoError(t, err)
	require.NoError(t, resp.Body.Close())
	assert.Equal(t, 200, resp.StatusCode)
}

// Retries spend at most the budget: a fraction of what first attempts
// spent, plus a floor; then the error says the client's budget refused.
func TestRetryBudget(t *testing.T) {
	clk := newClock()
	s := &script{steps: []step{{429, "", []string{"X-Ratelimit-Remaining", "90"}}}}
	tr := newTransport(t, s, clk, client.WithPlan(plan(1000, 5)), client.WithRetry(client.RetryPolicy{
		MaxAttempts: 10, BudgetRatio: 0.5, BudgetFloor: 2, BudgetWindow: time.Hour}))
	resp, err := advancing(t, clk, time.Second, func() (*http.Response, error) {
		return get(context.Background(), tr, "", "/crm/Leads")
	})
	if resp != nil {
		_ = resp.Body.Close()
	}
	var le *client.LimitError
	require.ErrorAs(t, err, &le)
	assert.Equal(t, client.ReasonRetryBudget, le.Reason)
	assert.Contains(t, err.Error(), "not of the server")
	assert.Equal(t, 429, le.Status)
	// First attempts spent 1 credit: 0.5×1 + 2 = 2.5 credits of retries.
	assert.Equal(t, int64(3), s.calls.Load(), "one first attempt, two retries")
	st := tr.Stats()
	assert.Equal(t, int64(1), st.BudgetRefused)
	assert.Equal(t, int64(2), st.RetryCredits)
	assert.Equal(t, int64(1), st.FirstCredits)
	assert.Equal(t, int64(1), stat(tr, client.DefaultIntegration).Refused[client.ReasonRetryBudget])
}

// A 429 body is classified, and left whole for the caller.
func TestClassify(t *testing.T) {
	for _, tc := range []struct {
		want string
		body string
		hdr  []string
	}{
		{"credits", `{"code":"LIMIT_EXCEEDED","details":{"by":"credits"}}`, nil},
		{"concurrency", `{"code":"TOO_MANY_REQUESTS","details":{"by":"concurrency"}}`, nil},
		{"concurrency", `{"policyName":"TEN_SECONDLY_ROLLING"}`, nil},
		{"credits", `{"policyName":"DAILY"}`, nil},
		{"credits", "", []string{"X-Ratelimit-Remaining", "0"}},
		{"concurrency", "", []string{"X-Ratelimit-Remaining", "500"}},
		{"credits", "", []string{"Retry-After", "7200"}},
		{"credits", "", []string{"Retry-After", "99999999999"}},
		{"credits", "", []string{"Retry-After", "-1"}},
		{"transient", "", []string{"Retry-After", "later"}},
		{"transient", "", []string{"Retry-After", "2"}},
		{"transient", "slow down", nil},
	} {
		r, _ := http.NewRequest(http.MethodGet, "http://api.test/", nil)
		resp := response(r, 429, tc.body, tc.hdr...)
		assert.Equal(t, tc.want, client.Classify(resp, 1), "%q %q", tc.body, tc.hdr)
		b, _ := io.ReadAll(resp.Body)
		assert.Equal(t, tc.body, string(b))
	}
}
