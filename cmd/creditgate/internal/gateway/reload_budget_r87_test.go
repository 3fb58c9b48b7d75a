package gateway

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

const budgetYAML = `
upstream: %s
plan: {credits: 1000000, concurrency: 10}
limits: {pricing_budget: 1MiB}
costs:
  profile: none
  routes:
    - {pattern: "POST /bulk", records: {key: data, per_credit: 10, max_credits: 10, max_body: 4MiB}}
`

// records is a body of n bytes or so for POST /bulk: one record, padded.
func records(n int) string {
	return `{"data":[{"x":"` + strings.Repeat("a", n) + `"}]}`
}

// limits.pricing_budget bounds the request bodies held for pricing at once
// across the gateway (README: limits need a restart). Each reload builds a
// new middleware, with a budget of its own, full: the bodies the old handler
// still holds are not counted, so a SIGHUP, even one that changes nothing,
// lets stalled bodies hold the budget once more. Here a stalled body holds
// most of a 1 MiB budget; a second body of 600 KiB gets 503 before the
// reload, and must get it after a reload of the same file too.
func TestReloadKeepsPricingBudget(t *testing.T) {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
	}))
	t.Cleanup(up.Close)
	text := strings.ReplaceAll(budgetYAML, "%s", up.URL)
	g := newGateway(t, text)

	// A: a stalled body holding about 600 KiB of the budget.
	pr, pw := io.Pipe()
	stalled := make(chan int, 1)
	go func() {
		r := httptest.NewRequest(http.MethodPost, "/bulk", pr)
		r.Header.Set("Content-Type", "application/json")
		w := httptest.NewRecorder()
		g.ServeHTTP(w, r)
		stalled <- w.Code
	}()
	body := records(600 << 10)
	if _, err := io.WriteString(pw, body[:len(body)-4]); err != nil {
		t.Fatal(err)
	}
	defer func() {
		pw.CloseWithError(io.ErrUnexpectedEOF)
		select {
		case <-stalled:
		case <-time.After(5 * time.Second):
			t.Error("the stalled request did not end")
		}
	}()

	send := func() int {
		r := httptest.NewRequest(http.MethodPost, "/bulk", strings.NewReader(records(600<<10)))
		r.Header.Set("Content-Type", "application/json")
		w := httptest.NewRecorder()
		g.ServeHTTP(w, r)
		return w.Code
	}
	if code := send(); code != http.StatusServiceUnavailable {
		t.Fatalf("before the reload: a second 600 KiB body got %d, want 503 (budget spent)", code)
	}
	if err := g.Reload(effective(t, text)); err != nil {
		t.Fatal(err)
	}
	if code := send(); code != http.StatusServiceUnavailable {
		t.Errorf("after a reload of the same file: a second 600 KiB body got %d, want 503: the stalled body's bytes were forgotten, and the budget held twice over", code)
	}
}
