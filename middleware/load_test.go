package middleware

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/creditgate/creditgate/limiter"
)

// TestLoadInvariants drives a real server on loopback with a bounded Go load
// loop (8 workers, at most 2 s or 4,000 requests), hostile requests mixed in
// (unclean paths to the bulk route, bodies declared too large, malformed
// bodies, keys too long), and checks what must hold however requests
// interleave: the handler never sees more requests in flight than the caps,
// admitted credits are exactly what the pool lost and never exceed it, and
// every response is a 200 or a 429 with well-formed limit headers (for 429,
// a Retry-After and a problem body), or the 400 or 413 its hostility earns.
func TestLoadInvariants(t *testing.T) {
	const (
		pool, conc, bulkCap = 1500, 3, 2
		workers, maxReqs    = 8, 4000
		maxTime             = 2 * time.Second
	)
	var inFlight, peak, bulkInFlight, bulkPeak atomic.Int64
	track := func(cur, top *atomic.Int64) func() {
		n := cur.Add(1)
		for p := top.Load(); n > p && !top.CompareAndSwap(p, n); p = top.Load() {
		}
		return func() { cur.Add(-1) }
	}
	next := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer track(&inFlight, &peak)()
		if path.Clean(r.URL.Path) == "/crm/bulk" {
			defer track(&bulkInFlight, &bulkPeak)()
		}
		time.Sleep(200 * time.Microsecond) // hold the slot for a moment
		_, _ = io.WriteString(w, "ok")
	})
	l, err := limiter.New(testPlan(pool, conc, bulkCap))
	require.NoError(t, err)
	h, err := New(next, l, testCosts(t), WithIETFHeaders(""))
	require.NoError(t, err)
	srv := httptest.NewServer(h)
	defer srv.Close()
	client := srv.Client()
	client.Transport.(*http.Transport).MaxIdleConnsPerHost = workers

	type call struct {
		method, path, body, app string
		credits                 int64 // what a 200 costs
		want                    int   // the status a hostile call earns, 0 for 200 or 429
	}
	calls := []call{
		{"GET", "/crm/Leads", "", "app", 1, 0},
		{"POST", "/crm/bulk", "", "app", 5, 0},
		{"POST", "/crm/Leads", `{"data":[1,2,3]}`, "app", 3, 0},
		{"POST", "/crm//bulk", "", "app", 5, 0},                                                   // unclean: still bulk, still 5
		{"POST", "/crm/./x/../bulk", "", "app", 5, 0},                                             // likewise
		{"POST", "/crm/Leads", `{"data":[` + strings.Repeat("1,", 50<<10) + `1]}`, "app", 0, 413}, // declared too large
		{"POST", "/crm/Leads", `{"data":[`, "app", 0, 400},                                        // malformed: 429 when the pool is spent
		{"GET", "/crm/Leads", "", strings.Repeat("k", 300), 0, 400},                               // key too long
	}
	var admitted, sent, refused atomic.Int64
	var mu sync.Mutex
	reasons := map[string]int{}
	deadline := time.Now().Add(maxTime)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := 0; time.Now().Before(deadline) && sent.Add(1) <= maxReqs; i++ {
				c := calls[(w*7+i)%len(calls)]
				req, _ := http.NewRequest(c.method, srv.URL+c.path, strings.NewReader(c.body))
				req.Header.Set(HeaderClientID, c.app)
				resp, err := client.Do(req)
				if err != nil {
					t.Error(err)
					return
				}
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if c.want != 0 && resp.StatusCode == c.want {
					continue // refused for its hostility, nothing taken
				}
				lim, perr := ParseHeaders(time.Now(), resp.Header)
				if perr != nil || !lim.Has(FieldLimit|FieldRemaining|FieldReset) || lim.Limit != pool || lim.Remaining > pool {
					t.Errorf("malformed limit headers %v: %v", resp.Header, perr)
					return
				}
				switch resp.StatusCode {
				case http.StatusOK:
					if c.want != 0 {
						t.Errorf("%s %s admitted, want %d", c.method, c.path, c.want)
						return
					}
					admitted.Add(c.credits)
				case http.StatusTooManyRequests:
					refused.Add(1)
					var b problem
					if err := json.Unmarshal(body, &b); err != nil || b.Status != http.StatusTooManyRequests || !lim.Has(FieldRetryAfter) {
						t.Errorf("malformed 429: %q %v", body, resp.Header)
						return
					}
					mu.Lock()
					reasons[b.By]++
					mu.Unlock()
				default:
					t.Errorf("status %d", resp.StatusCode)
					return
				}
			}
		})
	}
	wg.Wait()
	client.CloseIdleConnections()

	assert.LessOrEqual(t, peak.Load(), int64(conc), "in flight above the concurrency cap")
	assert.LessOrEqual(t, bulkPeak.Load(), int64(bulkCap), "bulk in flight above the sub-concurrency cap")
	assert.LessOrEqual(t, admitted.Load(), int64(pool), "admitted credits above the pool")
	assert.Equal(t, int64(pool)-admitted.Load(), l.Peek(time.Now(), "").Remaining, "the pool and the 200s agree")
	assert.Positive(t, refused.Load())
	t.Logf("admitted %d credits, %d refusals by reason %v, peak in flight %d (bulk %d)",
		admitted.Load(), refused.Load(), fmt.Sprint(reasons), peak.Load(), bulkPeak.Load())
}
