package client_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/creditgate/creditgate/middleware"
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

// A process serves the usage dashboard for its own integrations: the
// Transport is a middleware.DashboardSource, with the spending of others as
// its own row and the pool as the server's headers left it (issue #20 item 6).
func TestDashboardOfTransport(t *testing.T) {
	u := usage.New(24*time.Hour, 100)
	defer u.Close(context.Background())
	clk := newClock()
	base := rtFunc(func(r *http.Request) (*http.Response, error) {
		return response(r, 200, "", "X-RATELIMIT-REMAINING", "90"), nil
	})
	tr := newTransport(t, base, clk, client.WithPlan(plan(100, 2)), client.WithUsage(u),
		client.WithIntegrations(client.Integration{Name: "sync"}))
	mustGet(t, tr, "sync", "/crm/Leads")
	dash := middleware.DashboardOf(tr, middleware.WithToken("tok"), middleware.WithDashboardClock(clk.Now))
	get := func(path string) map[string]any {
		rec := httptest.NewRecorder()
		r := httptest.NewRequest("GET", path, nil)
		r.Header.Set("Authorization", "Bearer tok")
		dash.ServeHTTP(rec, r)
		require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
		var v map[string]any
		require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &v))
		return v
	}
	top := fmt.Sprint(get("/api/top?dim=app"))
	assert.Contains(t, top, "sync")
	assert.Contains(t, top, usage.Outside)
	summary := get("/api/summary")
	assert.EqualValues(t, 90, summary["remaining"], "the pool as the headers left it")
}

// Each held body gives its slots back once, whatever closes it: Close
// twice, Close after reading to EOF, Close from several goroutines at once,
// and Close of the last round's bodies once their limiter tickets have
// been reused by this round's calls; for both held body types (the common
// one, and the one body tracking needs). The pool must then admit exactly
// its concurrency: a slot leaked refuses a call too early, a slot released
// twice admits one too many.
func TestHeldBodyReleasesOnce(t *testing.T) {
	for _, track := range []bool{false, true} {
		t.Run(fmt.Sprintf("tracking=%v", track), func(t *testing.T) {
			const conc = 4
			opts := []client.Option{client.WithClock(newClock()), client.WithCosts(costs(t)),
				client.WithPlan(plan(1<<30, conc))}
			if track {
				opts = append(opts, client.WithBodyTracking())
			}
			tr, err := client.New(&okRT{}, opts...)
			require.NoError(t, err)
			defer tr.Close(context.Background())
			var last []*http.Response
			for round := range 20 {
				resps := holdAll(t, tr, conc)
				assert.Equal(t, int64(conc), tr.Stats().OpenBodies)
				for _, r := range last { // stale: their tickets now serve resps
					require.NoError(t, r.Body.Close())
				}
				assertFull(t, tr, round)
				var wg sync.WaitGroup
				for i, r := range resps {
					if i == 0 {
						_, _ = io.ReadAll(r.Body)
					}
					for range 3 {
						wg.Go(func() { _ = r.Body.Close(); _ = r.Body.Close() })
					}
				}
				wg.Wait()
				assert.Zero(t, tr.Stats().OpenBodies)
				last = resps
			}
			resps := holdAll(t, tr, conc)
			assertFull(t, tr, -1)
			for _, r := range resps {
				require.NoError(t, r.Body.Close())
			}
			assert.Zero(t, tr.Stats().OpenBodies)
			// Every call counted once, held or refused.
			assert.Equal(t, int64(21*(conc+1)), stat(tr, client.DefaultIntegration).Requests)
		})
	}
}

// holdAll makes n calls without closing their bodies.
func holdAll(t *testing.T, tr *client.Transport, n int) []*http.Response {
	t.Helper()
	resps := make([]*http.Response, n)
	for i := range resps {
		var err error
		resps[i], err = get(client.WithFailFast(context.Background()), tr, "", "/crm/Leads")
		require.NoError(t, err, "call %d of %d", i+1, n)
	}
	return resps
}

// assertFull checks that every slot of tr is held.
func assertFull(t *testing.T, tr *client.Transport, round int) {
	t.Helper()
	resp, err := get(client.WithFailFast(context.Background()), tr, "", "/crm/Leads")
	if err == nil {
		_ = resp.Body.Close()
	}
	var le *client.LimitError
	require.ErrorAs(t, err, &le, "round %d: every slot is held", round)
	assert.Equal(t, client.ReasonConcurrency, le.Reason)
}

// rwBody is a read-write body, as a protocol switch's is.
type rwBody struct {
	io.Reader
	bytes.Buffer
	closed bool
}

func (b *rwBody) Read(p []byte) (int, error) { return b.Reader.Read(p) }
func (b *rwBody) Close() error               { b.closed = true; return nil }

// A 101 Switching Protocols response keeps a writable body, for both held
// body types, and holds its slot until it is closed.
func TestSwitchingProtocolsBodyWritable(t *testing.T) {
	for _, track := range []bool{false, true} {
		t.Run(fmt.Sprintf("tracking=%v", track), func(t *testing.T) {
			var rw *rwBody
			base := rtFunc(func(r *http.Request) (*http.Response, error) {
				rw = &rwBody{Reader: strings.NewReader("")}
				return &http.Response{StatusCode: http.StatusSwitchingProtocols, Body: rw, Request: r,
					Header: http.Header{}}, nil
			})
			opts := []client.Option{client.WithClock(newClock()), client.WithCosts(costs(t)),
				client.WithPlan(plan(100, 1))}
			if track {
				opts = append(opts, client.WithBodyTracking())
			}
			tr, err := client.New(base, opts...)
			require.NoError(t, err)
			defer tr.Close(context.Background())
			resp, err := get(context.Background(), tr, "", "/crm/Leads")
			require.NoError(t, err)
			w, ok := resp.Body.(io.Writer)
			require.True(t, ok, "the body stays writable")
			_, err = w.Write([]byte("ping"))
			require.NoError(t, err)
			assert.Equal(t, "ping", rw.String())
			assertFull(t, tr, 0)
			require.NoError(t, resp.Body.Close())
			assert.True(t, rw.closed)
			assert.Zero(t, tr.Stats().OpenBodies)
		})
	}
}
