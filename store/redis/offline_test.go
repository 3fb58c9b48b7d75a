package redis

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/creditgate/creditgate/cost"
	"github.com/creditgate/creditgate/limiter"
	"github.com/creditgate/creditgate/middleware"
	"github.com/creditgate/creditgate/store"
)

// While Redis is out of reach, FailOpen and Degraded admit calls that no
// shared pool decided: this instance knows nothing of what the pool holds
// (FailOpen reads nothing; Degraded spends its own share or leased block).
// Those decisions carry no pool figures, so the middleware sends no limit
// headers on them: X-RATELIMIT-REMAINING 0 (FailOpen) or this instance's
// 1/N share (Degraded) would be read by clients as the pool, and a client
// that reconciles with the headers (this library's Transport) would book
// the rest of the pool as spent by others and hold its own calls back for
// up to a whole window after a short outage. (With credit leasing, calls
// that a leased block admits carry the pool as last read less the block's
// spending, with Redis up or down: an estimate from the shared pool, kept.)
func TestOfflineDecisionsCarryNoPoolFigures(t *testing.T) {
	for _, tc := range []struct {
		name  string
		mode  Mode
		block int64
	}{{"failopen", FailOpen, 0}, {"degraded", Degraded, 0}} {
		t.Run(tc.name, func(t *testing.T) {
			srv, err := startServer(0)
			if err != nil {
				t.Fatal(err)
			}
			defer srv.remove()
			s := newStore(t, client(t, srv.addr()), WithFailure(tc.mode, 4), WithCreditLeasing(tc.block),
				WithBreaker(1, time.Hour), WithTimeout(200*time.Millisecond))
			p := store.Plan{Name: "p", Credits: 1000, Window: time.Hour, Concurrency: 8}
			l, err := limiter.New(p, limiter.WithStore(s))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = l.Close(t.Context()) })
			costs, err := cost.NewTable(1)
			if err != nil {
				t.Fatal(err)
			}
			h, err := middleware.New(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {}), l, costs,
				middleware.WithIETFHeaders(""))
			if err != nil {
				t.Fatal(err)
			}
			call := func() *http.Response {
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, httptest.NewRequest("GET", "/crm/Leads", nil))
				return rec.Result()
			}
			if r := call(); r.StatusCode != http.StatusOK || r.Header.Get(middleware.HeaderRemaining) != "999" {
				t.Fatalf("with Redis up: %d, remaining %q; want 200, 999", r.StatusCode, r.Header.Get(middleware.HeaderRemaining))
			}
			srv.stop()
			for i := range 3 {
				r := call()
				if r.StatusCode != http.StatusOK {
					t.Fatalf("call %d with Redis down: status %d, want 200 (%s admits)", i, r.StatusCode, tc.mode)
				}
				for k, v := range r.Header {
					if lk := strings.ToLower(k); strings.HasPrefix(lk, "x-ratelimit") || strings.HasPrefix(lk, "x-api-credits") || strings.HasPrefix(lk, "ratelimit") {
						t.Errorf("call %d with Redis down: %s: %q, a pool figure no shared pool gave", i, k, v)
					}
				}
			}
		})
	}
}
