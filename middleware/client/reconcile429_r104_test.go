package client_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/creditgate/creditgate/middleware/client"
)

// A 429 is refunded (the server took nothing), and its limit headers say
// what the server has left: 5. The pool must end at the server's figure,
// not at it plus the refused call's own credits (read first, then the
// refund added on top: an over-admission of the call's cost after every
// refusal).
func TestRefused429PoolAtServerFigure_r104(t *testing.T) {
	clk := newClock()
	base := rtFunc(func(r *http.Request) (*http.Response, error) {
		return response(r, http.StatusTooManyRequests, `{"by":"credits"}`,
			"X-RateLimit-Limit", "100", "X-RateLimit-Remaining", "5", "Retry-After", "3600"), nil
	})
	tr := newTransport(t, base, clk, client.WithPlan(plan(100, 3)), client.WithRetry(client.RetryPolicy{MaxAttempts: 1}))
	resp, err := get(context.Background(), tr, "", "/crm/big") // 50 credits
	if err == nil {
		_ = resp.Body.Close()
	}
	if got := remaining(tr, clk); got != 5 {
		t.Errorf("after a 429 saying 5 left, the pool has %d left (err %v), want 5", got, err)
	}
}
