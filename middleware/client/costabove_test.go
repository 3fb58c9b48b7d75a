package client_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/creditgate/creditgate/middleware"
	"github.com/creditgate/creditgate/middleware/client"
	"github.com/creditgate/creditgate/profile/zoho"
)

// A call that costs more than the server's whole pool gets the middleware's
// 403 (by "cost", no Retry-After): no wait admits it. The client returns
// it as it is, sent once, not retried, and counts it neither as a 429 nor
// as a credits refusal. (The client's own plan is larger here, as for a
// client configured for another edition than the server's.)
func TestCostAbovePoolNotRetried(t *testing.T) {
	a := newAPI(t, plan(20, 3))
	tr, err := client.New(a.srv.Client().Transport, client.WithPlan(plan(1000, 3)), client.WithCosts(costs(t)),
		client.WithBodyTracking(), client.WithIntegrations(client.Integration{Name: "sync"}))
	require.NoError(t, err)
	defer tr.Close(context.Background())
	r, err := http.NewRequestWithContext(client.WithIntegration(context.Background(), "sync"),
		http.MethodGet, a.srv.URL+"/crm/big", nil) // 50 credits, a pool of 20
	require.NoError(t, err)
	resp, err := tr.RoundTrip(r)
	require.NoError(t, err)
	body, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	require.Equal(t, http.StatusForbidden, resp.StatusCode, "%s", body)
	var p struct{ By string }
	require.NoError(t, json.Unmarshal(body, &p))
	assert.Equal(t, middleware.ByCost, p.By)
	assert.EqualValues(t, 1, a.counters.Refused.Load(), "sent once")
	s := stat(tr, "sync")
	assert.Zero(t, s.Retries)
	assert.Zero(t, s.Throttled, "not a 429")
	assert.Zero(t, s.Refused[client.ReasonCredits], "not a credits refusal")
	assert.EqualValues(t, 20, tr.Limiter().Peek(time.Now(), "").Remaining,
		"the client's pool follows the 403's limit headers (the server's 20 left), the call's 50 not spent on top")
}

// Should a server send the refusal of a call above its pool as a 429, its
// by "cost" still says it is no spent pool: not a credits refusal, whatever
// the code beside it (Zoho's LIMIT_EXCEEDED, read alone, is one).
func TestClassifyCostAbovePool(t *testing.T) {
	f := middleware.Refusal{By: middleware.ByCost, Cost: 50, Limit: 20, Remaining: 20}
	for _, body := range []string{
		string(zoho.ErrorBodies{}.AppendRefusal(nil, f)),
		`{"type":"about:blank","title":"Forbidden","status":403,"by":"cost","cost":50,"limit":20,"remaining":20}`,
	} {
		assert.NotEqual(t, "credits", classifyBody(t, body), "%s", body)
	}
}
