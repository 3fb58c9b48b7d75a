package middleware

import (
	"context"
	"fmt"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/creditgate/creditgate/limiter"
	"github.com/creditgate/creditgate/usage"
)

// Helper-70: the statistics keep a tenant whose name is not valid UTF-8,
// or longer than usage.MaxKeyBytes, under a changed key, which the
// dashboard lists and drills into. Its pool panel (summary), the pool of
// its period and its alerts are the real tenant's: the limiter's pool of
// the name the calls were made with, not of the key as shown (which no
// tenant has: an unseen tenant's whole default pool, nothing used). Two
// names that differ only in their invalid bytes, or past the kept
// prefix, each show their own pool; a changed key that no kept tenant has
// shows nobody's; a tenant token of a tenant named as a key is shown
// reads its own pool.
func TestDashboardPoolOfChangedTenantKey(t *testing.T) {
	long := strings.Repeat("a", 299)
	gold := limiter.Plan{Name: "gold", Credits: 100, Concurrency: 5, SubConcurrency: map[string]int64{"bulk": 5}}
	silver := limiter.Plan{Name: "silver", Credits: 50, Concurrency: 5, SubConcurrency: map[string]int64{"bulk": 5}}
	tenants := []struct {
		name  string
		plan  *limiter.Plan // nil: the default, testPlan's 20 credits
		spend int64         // credits, one a call: each tenant's own figure
	}{
		{"\xffacme", &gold, 3},
		{"\xfeacme", nil, 17}, // 85 % of 20: crosses 80
		{long + "1", &silver, 5},
		{long + "2", nil, 2},
	}
	u := usage.New(48*time.Hour, 100)
	t.Cleanup(func() { _ = u.Close(context.Background()) })
	alerts := NewAlertLog(nil, 0)
	l, err := limiter.New(testPlan(20, 5, 5), limiter.WithUsage(u), limiter.WithAlerts(alerts.Thresholds(), alerts.Add))
	require.NoError(t, err)
	t.Cleanup(func() { _ = l.Close(context.Background()) })
	clock := newClock()
	h, err := New(okHandler(), l, testCosts(t), WithClock(clock.Now), WithMaxKeyBytes(512))
	require.NoError(t, err)
	byCredits := map[int64]string{}
	label := func(name string) string { // the long names by their ends
		if len(name) > 16 {
			return fmt.Sprintf("%d bytes ending %q", len(name), name[len(name)-4:])
		}
		return fmt.Sprintf("%q", name)
	}
	for _, tn := range tenants {
		if tn.plan != nil {
			require.NoError(t, l.SetPlanAt(t0, tn.name, *tn.plan))
		}
		for range tn.spend {
			r := httptest.NewRequest("GET", "/crm/Leads", nil)
			r = r.WithContext(ContextWithIdentity(r.Context(), Identity{Tenant: tn.name, App: "app"}))
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, r)
			require.Equal(t, 200, rec.Code, "tenant %q: %s", tn.name, rec.Body.String())
		}
		byCredits[tn.spend] = tn.name
	}
	require.NoError(t, l.Close(context.Background())) // delivers the alerts queued
	now := t0.Add(30 * time.Minute)
	d := Dashboard(l, WithDashboardClock(func() time.Time { return now }), WithAlertLog(alerts))

	ts := getJSON[tenantsJSON](t, d, "/api/tenants")
	require.Len(t, ts.Items, len(tenants), "%+v", ts.Items)
	for _, row := range ts.Items {
		name, ok := byCredits[row.Credits]
		require.True(t, ok, "row %q: %d credits", row.Key, row.Credits)
		require.NotEqual(t, name, row.Key, "the statistics keep %s under a changed key", label(name))
		want := l.Peek(now, name)
		q := "?tenant=" + url.QueryEscape(row.Key)

		s := getJSON[summaryJSON](t, d, "/api/summary"+q)
		assert.Equal(t, row.Key, s.Tenant, "the panel names the row")
		assert.Equal(t, l.Plan(name).Name, s.Plan, "the plan of %s", label(name))
		assert.Equal(t, [3]int64{want.Limit, want.Remaining, row.Credits}, [3]int64{s.Limit, s.Remaining, s.Used},
			"the pool of %s (limit, remaining, used): its spending", label(name))

		p := getJSON[periodJSON](t, d, "/api/period"+q)
		assert.Equal(t, want.Limit, p.Pool, "the period's pool of %s", label(name))
		if assert.NotNil(t, p.Unused) {
			assert.Equal(t, want.Limit-row.Credits, *p.Unused, "the period's unused credits of %s", label(name))
		}

		a := getJSON[alertsJSON](t, d, "/api/alerts"+q)
		if row.Credits == 17 {
			assert.Equal(t, []int{80}, a.Crossed, "the thresholds %s's use reached", label(name))
			if assert.Len(t, a.Items, 1, "the crossings of %s", label(name)) {
				assert.Equal(t, 80, a.Items[0].Threshold)
			}
		} else {
			assert.Empty(t, a.Crossed, "the thresholds %s's use reached", label(name))
			assert.Empty(t, a.Items, "the crossings of %s", label(name))
		}

		// A tenant token of a tenant named as the row is shown reads that
		// tenant's own pool, not the one the row stands for.
		tok := Dashboard(l, WithDashboardClock(func() time.Time { return now }), WithTenantToken(row.Key, "tok"))
		s = getJSON[summaryJSON](t, tok, "/api/summary", "Authorization", "Bearer tok")
		assert.Equal(t, [3]int64{20, 20, 0}, [3]int64{s.Limit, s.Remaining, s.Used}, "a tenant token of the key %q", row.Key)

		// The same key with another hash is no kept tenant's: nobody's pool.
		other := row.Key[:len(row.Key)-1] + string("01"[btoi(strings.HasSuffix(row.Key, "0"))])
		s = getJSON[summaryJSON](t, d, "/api/summary?tenant="+url.QueryEscape(other))
		assert.Equal(t, [3]int64{20, 20, 0}, [3]int64{s.Limit, s.Remaining, s.Used}, "the key %q, kept by none", other)
	}
}
