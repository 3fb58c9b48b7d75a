package client_test

import (
	"net/http"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/creditgate/creditgate/middleware/client"
)

// Headers that make one set of credentials act for someone else keep
// callers apart, as Stripe-Account and the other identity headers do:
// GitLab's Sudo (an admin token acting as a user), Stripe's Stripe-Context
// (the connected account, in API v2 and v1), Sage's X-Business (which of
// the token's businesses). With the same Authorization and a different
// one of these, two concurrent GETs shared one answer: one account's data
// went to a caller acting for another.
func TestCoalesceActingForHeaders(t *testing.T) {
	for _, h := range []string{"Sudo", "Stripe-Context", "X-Business"} {
		t.Run(h, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				crm := newCRM(t)
				crm.latency = 50 * time.Millisecond
				tr := newZoho(t, crm, client.WithCoalescing(client.CoalesceRule{Route: recordsRoute}))
				var wg sync.WaitGroup
				for _, v := range []string{"alice", "bob"} {
					wg.Go(func() {
						r, _ := http.NewRequest("GET", "https://crm.test/crm/v8/Deals", nil)
						r.Header.Set("Authorization", "Bearer admin-token")
						r.Header.Set(h, v)
						resp, err := tr.RoundTrip(r)
						if assert.NoError(t, err) {
							_ = resp.Body.Close()
						}
					})
				}
				wg.Wait()
				calls, _ := crm.spent()
				assert.Equal(t, 2, calls, "one call per %s: the callers act for different accounts", h)
			})
		})
	}
}
