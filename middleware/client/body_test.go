package client_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/creditgate/creditgate/middleware/client"
	"github.com/creditgate/creditgate/usage"
)

// A body held past WithMaxHold gives its slot back, is counted and logged;
// closing it later releases nothing twice.
func TestMaxHoldReclaims(t *testing.T) {
	clk := newClock()
	var logs bytes.Buffer
	tr := newTransport(t, &okRT{}, clk, client.WithPlan(plan(100, 1)), client.WithMaxHold(30*time.Second),
		client.WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))
	resp, err := get(context.Background(), tr, "", "/crm/Leads")
	require.NoError(t, err)
	require.Error(t, ffGet(t, tr, "", "/crm/Leads"), "the slot is held")
	clk.Advance(31 * time.Second)
	st := tr.Stats()
	assert.Equal(t, int64(1), st.Reclaimed)
	assert.Zero(t, st.OpenBodies)
	assert.Contains(t, logs.String(), "held too long")
	assert.Contains(t, logs.String(), "opened_at=/", "the log says where the call was made")
	assert.Contains(t, logs.String(), "_test.go:")
	require.NoError(t, ffGet(t, tr, "", "/crm/Leads"), "the slot is free again")
	require.NoError(t, resp.Body.Close())
	assert.Equal(t, int64(1), tr.Stats().Reclaimed)
	require.NoError(t, ffGet(t, tr, "", "/crm/Leads"))
}

// errorsT records what CheckBodies reports.
type errorsT struct{ msgs []string }

func (e *errorsT) Errorf(format string, args ...any) {
	e.msgs = append(e.msgs, fmt.Sprintf(format, args...))
}

// CheckBodies reports a body never closed, with where its call was made.
func TestCheckBodiesSaysWhere(t *testing.T) {
	clk := newClock()
	tr := newTransport(t, &okRT{}, clk, client.WithPlan(plan(100, 2)),
		client.WithIntegrations(client.Integration{Name: "sync"}))
	hc := &http.Client{Transport: tr}
	r, _ := http.NewRequest(http.MethodGet, "http://api.test/crm/Leads", nil)
	_, _, line, _ := runtime.Caller(0)
	resp, err := hc.Do(r) // the line after line
	require.NoError(t, err)
	var rec errorsT
	assert.False(t, tr.CheckBodies(&rec))
	require.Len(t, rec.msgs, 1)
	assert.Contains(t, rec.msgs[0], fmt.Sprintf("body_test.go:%d", line+1))
	assert.Contains(t, rec.msgs[0], `integration "sync"`)
	open := tr.OpenBodies()
	require.Len(t, open, 1)
	assert.Equal(t, "GET", open[0].Method)
	require.NoError(t, resp.Body.Close())
	assert.True(t, tr.CheckBodies(&rec))
}

// A response without a body holds nothing.
func TestNoBodyReleasesAtOnce(t *testing.T) {
	clk := newClock()
	base := rtFunc(func(r *http.Request) (*http.Response, error) {
		resp := response(r, http.StatusNoContent, "")
		resp.Body = http.NoBody
		return resp, nil
	})
	tr := newTransport(t, base, clk, client.WithPlan(plan(100, 1)))
	for range 3 {
		resp, err := get(client.WithFailFast(context.Background()), tr, "", "/crm/Leads")
		require.NoError(t, err)
		assert.Equal(t, http.NoBody, resp.Body)
	}
}

// Usage goes into a usage.Stats in the server's shape: the integrations as
// applications, external spend as Outside.
func TestUsageRecorded(t *testing.T) {
	u := usage.New(24*time.Hour, 100)
	defer u.Close(context.Background())
	clk := newClock()
	base := rtFunc(func(r *http.Request) (*http.Response, error) {
		return response(r, 200, "", "X-RATELIMIT-REMAINING", "90"), nil
	})
	tr := newTransport(t, base, clk, client.WithPlan(plan(100, 2)), client.WithUsage(u),
		client.WithIntegrations(client.Integration{Name: "sync"}, client.Integration{Name: "forms"}))
	mustGet(t, tr, "sync", "/crm/Leads")
	mustGet(t, tr, "forms", "/crm/Deals")
	mustGet(t, tr, "forms", "/crm/Deals")
	got := map[string]int64{}
	for _, c := range u.Top("", usage.App, t0.Add(-time.Hour), t0.Add(time.Hour), 10) {
		got[c.Key] = c.Credits
	}
	// The first response said 90 left when the pool had 99: 9 by others.
	assert.Equal(t, map[string]int64{"sync": 1, "forms": 2, client.Outside: 9}, got)
	var mods []string
	for _, c := range u.Top("", usage.Module, t0.Add(-time.Hour), t0.Add(time.Hour), 10) {
		mods = append(mods, c.Key)
	}
	assert.Subset(t, mods, []string{"Leads", "Deals"})
}

// A request body the cost table reads is put back whole, and the caller's
// request is not changed.
func TestBodyPricedRequestUnchanged(t *testing.T) {
	clk := newClock()
	var sent string
	base := rtFunc(func(r *http.Request) (*http.Response, error) {
		b, _ := io.ReadAll(r.Body)
		sent = string(b)
		return response(r, 200, ""), nil
	})
	tr := newTransport(t, base, clk, client.WithPlan(plan(100, 2)))
	body := io.NopCloser(strings.NewReader(`{"data":[1,2,3]}`))
	r, _ := http.NewRequest(http.MethodPost, "http://api.test/crm/Leads", body)
	resp, err := tr.RoundTrip(r)
	require.NoError(t, err)
	require.NoError(t, resp.Body.Close())
	assert.Equal(t, `{"data":[1,2,3]}`, sent)
	assert.Equal(t, body, r.Body, "the caller's request keeps its body")
	assert.Equal(t, int64(97), remaining(tr, clk), "three records, three credits")
}
