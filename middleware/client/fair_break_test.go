package client_test

import (
	"context"
	"errors"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/creditgate/creditgate/middleware/client"
)

// post sends POST /crm/Leads with n records (n credits) for integration it.
func post(ctx context.Context, tr http.RoundTripper, it string, n int) (*http.Response, error) {
	ctx = client.WithIntegration(ctx, it)
	body := `{"data":[` + strings.TrimSuffix(strings.Repeat(`{"a":1},`, n), ",") + `]}`
	r, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://api.test/crm/Leads", strings.NewReader(body))
	if err != nil {
		return nil, err
	}
	return tr.RoundTrip(r)
}

// Quotas and reserves hold exactly under concurrency, against a simple
// model: fail-fast calls of 1 to 7 credits from three integrations (one
// with a quota of 30%, one with a quota of 45% and a reserve of 10%, one
// with neither) race for a pool of 100 that does not move. What each
// spent stays within its caps, and a one-credit call refused says exactly
// that its cap was reached: a quota refusal that the quota is spent, a
// credits refusal that the pool is, down to the reserves the caller
// leaves.
func TestQuotaModel(t *testing.T) {
	for seed := range uint64(8) {
		clk := newClock()
		tr, held := heldTransport(t, &okRT{}, clk, plan(100, 64), client.WithIntegrations(
			client.Integration{Name: "a", Quota: 30},
			client.Integration{Name: "b", Quota: 45, Reserve: 10},
			client.Integration{Name: "c"}))
		names := []string{"a", "b", "c"}
		var spent [3]atomic.Int64
		var oneQuota, oneCredits, anyCredits [3]atomic.Bool
		var wg sync.WaitGroup
		for g := range 9 {
			wg.Go(func() {
				i := g % 3
				rng := rand.New(rand.NewPCG(seed, uint64(g)))
				for range 60 {
					n := 1 + rng.IntN(7)
					resp, err := post(client.WithFailFast(context.Background()), tr, names[i], n)
					var le *client.LimitError
					switch {
					case err == nil:
						_ = resp.Body.Close()
						spent[i].Add(int64(n))
					case errors.As(err, &le):
						if n == 1 && le.Reason == client.ReasonQuota {
							oneQuota[i].Store(true)
						}
						if n == 1 && le.Reason == client.ReasonCredits {
							oneCredits[i].Store(true)
						}
						if le.Reason == client.ReasonCredits {
							anyCredits[i].Store(true)
						}
						assert.Contains(t, []client.Reason{client.ReasonQuota, client.ReasonCredits}, le.Reason)
					default:
						t.Errorf("call: %v", err)
					}
				}
			})
		}
		wg.Wait()
		a, b, c := spent[0].Load(), spent[1].Load(), spent[2].Load()
		total := a + b + c
		assert.LessOrEqual(t, a, int64(30), "a's quota")
		assert.LessOrEqual(t, b, int64(45), "b's quota")
		assert.LessOrEqual(t, a+c, int64(90), "b's reserve")
		assert.LessOrEqual(t, total, int64(100), "the pool")
		// A call refused for credits held its quota until then: a
		// one-credit call refused for the quota meanwhile saw it spent by
		// credits given back after (seen once in CI: 23 of 30). Exact only
		// when no call of that integration was refused for credits.
		if oneQuota[0].Load() && !anyCredits[0].Load() {
			assert.Equal(t, int64(30), a, "a one-credit call refused for a's quota: it is spent")
		}
		if oneQuota[1].Load() && !anyCredits[1].Load() {
			assert.Equal(t, int64(45), b, "a one-credit call refused for b's quota: it is spent")
		}
		if oneCredits[1].Load() {
			assert.Equal(t, int64(100), total, "a one-credit call of b refused for credits: the pool is spent")
		}
		if oneCredits[0].Load() || oneCredits[2].Load() {
			assert.GreaterOrEqual(t, total, int64(90), "a one-credit call of a or c refused for credits: the pool is spent but b's reserve")
		}
		assert.Equal(t, 100-total, remaining(tr, clk), "the pool's count is the model's")
		assert.Zero(t, held())
		for i, n := range names {
			assert.Equal(t, spent[i].Load(), stat(tr, n).Credits, "%s's credits in Stats", n)
		}
		require.NoError(t, tr.Close(context.Background()))
	}
}

type sentAsKey struct{}

// A greedy integration with many calls queued for credits does not starve
// one with a reserve (its reserve is served at once, past the queue) nor
// one of a higher priority (served first when credits come back); a waiter
// whose context ends as credits come back leaves with nothing held, or
// is served. Held: this documents it.
func TestGreedyDoesNotStarve(t *testing.T) {
	clk := newClock()
	var mu sync.Mutex
	var order []string
	ok := &okRT{}
	base := rtFunc(func(r *http.Request) (*http.Response, error) {
		if it, _ := r.Context().Value(sentAsKey{}).(string); it != "" {
			mu.Lock()
			order = append(order, it)
			mu.Unlock()
		}
		return ok.RoundTrip(r)
	})
	tr, held := heldTransport(t, base, clk, plan(10, 64), client.WithIntegrations(
		client.Integration{Name: "greedy"},
		client.Integration{Name: "forms", Reserve: 20},
		client.Integration{Name: "urgent", Priority: 10}))
	for range 8 {
		mustGet(t, tr, "greedy", "/crm/Leads")
	}
	var wg sync.WaitGroup
	queue := func(ctx context.Context, it string, n int64) {
		wg.Go(func() {
			resp, err := get(context.WithValue(ctx, sentAsKey{}, it), tr, it, "/crm/Leads")
			if err == nil {
				_ = resp.Body.Close()
			}
		})
		eventually(t, "queued", func() bool { return tr.Waiters() == n })
	}
	for i := range int64(20) {
		queue(context.Background(), "greedy", i+1)
	}
	cctx, cancel := context.WithCancel(context.Background())
	queue(cctx, "greedy", 21)
	// The reserve's owner goes past the queue, twice.
	mustGet(t, tr, "forms", "/crm/Leads")
	mustGet(t, tr, "forms", "/crm/Leads")
	queue(context.Background(), "urgent", 22)
	// Credits come back (the window returns the first ones) as a greedy
	// waiter's context ends: the urgent call goes first.
	go cancel()
	clk.Advance(time.Hour + time.Minute)
	// Eight of the ten credits come back for the queue (the forms'
	// reserve aside): the urgent call, last in, is among the first served.
	sent := func() int { mu.Lock(); defer mu.Unlock(); return len(order) }
	eventually(t, "the first hour's calls sent", func() bool { return sent() == 8 })
	mu.Lock()
	assert.Contains(t, order, "urgent", "the higher priority served in the first hour")
	mu.Unlock()
	for range 4 { // 8 credits an hour for the queue: three hours serve it
		clk.Advance(time.Hour + time.Minute)
	}
	wg.Wait()
	mu.Lock()
	defer mu.Unlock()
	assert.Contains(t, []int{21, 22}, len(order), "every greedy waiter served, the cancelled one perhaps")
	assert.Zero(t, held())
	assert.Zero(t, tr.Waiters())
}

// Quiet hours are wall-clock times in their location, also on the days
// of a DST change: the time since midnight was measured as elapsed time,
// an hour off the wall clock after the change, so that quiet hours of
// 09:00 to 10:00 in New York were not quiet at 09:30 on the day clocks go
// back (10 h 30 of elapsed time since midnight) nor on the day they go
// forward (8 h 30), and calls went out in the hours they must not.
func TestQuietHoursOnDSTDays(t *testing.T) {
	ny, err := time.LoadLocation("America/New_York")
	require.NoError(t, err)
	for _, day := range []time.Time{
		time.Date(2026, 11, 1, 0, 0, 0, 0, ny), // clocks go back at 02:00
		time.Date(2026, 3, 8, 0, 0, 0, 0, ny),  // clocks go forward at 02:00
		time.Date(2026, 3, 9, 0, 0, 0, 0, ny),  // an ordinary day
	} {
		t.Run(day.Format(time.DateOnly), func(t *testing.T) {
			clk := &fakeClock{now: time.Date(day.Year(), day.Month(), day.Day(), 9, 30, 0, 0, ny)}
			tr := newTransport(t, &okRT{}, clk, client.WithPlan(plan(100, 5)), client.WithIntegrations(
				client.Integration{Name: "backfill", Quiet: &client.QuietHours{From: 9 * time.Hour, To: 10 * time.Hour, Location: ny}}))
			err := ffGet(t, tr, "backfill", "/crm/Leads")
			var le *client.LimitError
			require.ErrorAs(t, err, &le, "09:30 is within 09:00 to 10:00")
			assert.Equal(t, client.ReasonQuietHours, le.Reason)
			assert.Equal(t, time.Date(day.Year(), day.Month(), day.Day(), 10, 0, 0, 0, ny), le.RetryAt.In(ny))
			clk.Advance(30 * time.Minute)
			require.NoError(t, ffGet(t, tr, "backfill", "/crm/Leads"), "10:00: the quiet hours are over")
		})
	}
}

// On the day clocks go back, the hour from 01:00 comes twice: quiet hours
// of 01:30 to 01:45 are quiet in both, and each ends a quarter of an hour
// after 01:30. In the second the end was the first's, already past: a
// waiter's retry time in the past, its timer at the minimum wait, and a
// pass every millisecond for a quarter of an hour.
func TestQuietHoursInRepeatedHour(t *testing.T) {
	ny, err := time.LoadLocation("America/New_York")
	require.NoError(t, err)
	first := time.Date(2026, 11, 1, 5, 35, 0, 0, time.UTC) // 01:35 EDT
	for _, now := range []time.Time{first, first.Add(time.Hour)} {
		t.Run(now.In(ny).Format("15:04 MST"), func(t *testing.T) {
			clk := &fakeClock{now: now}
			tr := newTransport(t, &okRT{}, clk, client.WithPlan(plan(100, 5)), client.WithIntegrations(
				client.Integration{Name: "backfill", Quiet: &client.QuietHours{From: 90 * time.Minute, To: 105 * time.Minute, Location: ny}}))
			err := ffGet(t, tr, "backfill", "/crm/Leads")
			var le *client.LimitError
			require.ErrorAs(t, err, &le)
			assert.Equal(t, client.ReasonQuietHours, le.Reason)
			assert.Equal(t, now.Add(10*time.Minute).UTC(), le.RetryAt.UTC(), "at 01:45 of this hour")
		})
	}
}
