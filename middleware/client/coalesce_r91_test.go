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

// The identity word "context" (added for Stripe-Context) also matches
// tracing headers whose value is new on every request: Google Cloud's
// X-Cloud-Trace-Context (set by its OpenTelemetry and OpenCensus
// propagators on every outbound call). They say nothing about whom the
// call acts for, yet each goes into the key, so two identical concurrent
// reads from one caller no longer share one call (and a cached answer is
// never found): coalescing and caching silently stop saving anything.
func TestCoalesceIgnoresTraceContext(t *testing.T) {
	for _, h := range []string{"X-Cloud-Trace-Context"} {
		t.Run(h, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				crm := newCRM(t)
				crm.latency = 50 * time.Millisecond
				tr := newZoho(t, crm, client.WithCoalescing(client.CoalesceRule{Route: recordsRoute}))
				var wg sync.WaitGroup
				for _, v := range []string{"105445aa7843bc8bf206b12000100000/1;o=1", "205445aa7843bc8bf206b12000100000/2;o=1"} {
					wg.Go(func() {
						r, _ := http.NewRequest("GET", "https://crm.test/crm/v8/Deals", nil)
						r.Header.Set("Authorization", "Bearer one-token")
						r.Header.Set(h, v)
						resp, err := tr.RoundTrip(r)
						if assert.NoError(t, err) {
							_ = resp.Body.Close()
						}
					})
				}
				wg.Wait()
				calls, _ := crm.spent()
				assert.Equal(t, 1, calls, "one call: %s differs per request and names nobody", h)
			})
		})
	}
}
