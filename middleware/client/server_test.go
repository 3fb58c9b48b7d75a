package client_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/creditgate/creditgate/limiter"
	"github.com/creditgate/creditgate/middleware"
	"github.com/creditgate/creditgate/middleware/client"
)

// api is an httptest server running this project's middleware in front of
// a handler that counts what is in flight.
type api struct {
	srv                     *httptest.Server
	l                       *limiter.Limiter
	inFlight, maxInFlight   atomic.Int64
	bulk, maxBulk, refusals atomic.Int64
	counters                middleware.Counters
}

func newAPI(t *testing.T, p limiter.Plan) *api {
	a := &api{}
	l, err := limiter.New(p)
	require.NoError(t, err)
	a.l = l
	inner := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := a.inFlight.Add(1)
		raise(&a.maxInFlight, n)
		if r.URL.Path == "/crm/bulk" {
			raise(&a.maxBulk, a.bulk.Add(1))
			defer a.bulk.Add(-1)
		}
		for range 20 {
			runtime.Gosched() // let other calls overlap this one
		}
		a.inFlight.Add(-1)
		_, _ = io.WriteString(w, `{"data":[]}`)
	})
	h, err := middleware.New(inner, l, costs(t), middleware.WithCounters(&a.counters))
	require.NoError(t, err)
	a.srv = httptest.NewServer(h)
	t.Cleanup(func() {
		a.srv.Close()
		_ = l.Close(context.Background())
	})
	return a
}

func raise(m *atomic.Int64, n int64) {
	for {
		old := m.Load()
		if n <= old || m.CompareAndSwap(old, n) {
			return
		}
	}
}

// Many goroutines of three integrations against the project's own
// middleware: the client keeps itself inside the server's caps (no 429),
// spends at most the pool, and keeps the quota and the reserve.
func TestAgainstMiddleware(t *testing.T) {
	p := plan(300, 3)
	a := newAPI(t, p)
	tr, err := client.New(a.srv.Client().Transport, client.WithPlan(p), client.WithCosts(costs(t)),
		client.WithBodyTracking(), client.WithIntegrations(
			client.Integration{Name: "export", Quota: 30},
			client.Integration{Name: "sync"},
			client.Integration{Name: "forms", Reserve: 5}))
	require.NoError(t, err)
	defer tr.Close(context.Background())
	hc := &http.Client{Transport: tr}

	names := []string{"export", "sync", "forms"}
	var other atomic.Value
	var wg sync.WaitGroup
	for g := range 12 {
		wg.Go(func() {
			it := names[g%3]
			for i := range 30 {
				ctx, cancel := context.WithTimeout(client.WithIntegration(context.Background(), it), 5*time.Second)
				var r *http.Request
				if i%5 == 4 {
					r, _ = http.NewRequestWithContext(ctx, http.MethodPost, a.srv.URL+"/crm/bulk", strings.NewReader("{}"))
				} else {
					r, _ = http.NewRequestWithContext(ctx, http.MethodGet, a.srv.URL+"/crm/Leads", nil)
				}
				resp, err := hc.Do(r)
				cancel()
				var le *client.LimitError
				switch {
				case err == nil:
					_, _ = io.Copy(io.Discard, resp.Body)
					_ = resp.Body.Close()
				case errors.As(err, &le) && le.Deadline:
				default:
					other.CompareAndSwap(nil, err)
				}
			}
		})
	}
	wg.Wait()
	require.Nil(t, other.Load(), "only refusals for credits past the deadline")
	assert.LessOrEqual(t, a.maxInFlight.Load(), int64(3), "never more in flight than the cap")
	assert.LessOrEqual(t, a.maxBulk.Load(), int64(1), "never more bulk calls than the class cap")
	assert.Zero(t, a.counters.Refused.Load(), "the server never had to refuse")

	st := tr.Stats()
	var spent int64
	for _, s := range st.Integrations {
		spent += s.Credits
	}
	used := a.l.Peek(time.Now(), "").Used
	assert.Equal(t, used, spent, "the client's count is the server's")
	assert.LessOrEqual(t, spent, int64(300))
	assert.LessOrEqual(t, stat(tr, "export").Credits, int64(90), "export's quota")
	assert.LessOrEqual(t, stat(tr, "export").Credits+stat(tr, "sync").Credits, int64(285), "the forms' reserve")
	assert.Zero(t, st.External)
	t.Logf("max in flight %d, bulk %d; spent %d; export %d, forms %d; waits %d",
		a.maxInFlight.Load(), a.maxBulk.Load(), spent, stat(tr, "export").Credits,
		stat(tr, "forms").Credits, stat(tr, "sync").Waits+stat(tr, "forms").Waits+stat(tr, "export").Waits)
	tr.CheckBodies(t)
	assert.Zero(t, tr.Waiters())
}

// Spending at the server by someone else (another tool on the account) is
// seen in the next response's headers and charged as external.
func TestAgainstMiddlewareExternalSpend(t *testing.T) {
	p := plan(100, 3)
	a := newAPI(t, p)
	for range 20 { // another consumer of the account's pool
		resp, err := a.srv.Client().Get(a.srv.URL + "/crm/Leads")
		require.NoError(t, err)
		_ = resp.Body.Close()
	}
	tr, err := client.New(a.srv.Client().Transport, client.WithPlan(p), client.WithCosts(costs(t)))
	require.NoError(t, err)
	defer tr.Close(context.Background())
	for range 3 {
		mustGetURL(t, tr, a.srv.URL+"/crm/Leads")
	}
	assert.Equal(t, int64(20), tr.Stats().External)
	assert.Equal(t, a.l.Peek(time.Now(), "").Remaining, tr.Limiter().Peek(time.Now(), "").Remaining)
}
