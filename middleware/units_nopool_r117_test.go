package middleware

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/creditgate/creditgate/cost"
	"github.com/creditgate/creditgate/limiter"
	"github.com/creditgate/creditgate/store"
	"github.com/creditgate/creditgate/store/memory"
)

// outOfReachStore is a memory store whose takes of more units than the
// plan's cap are refused as the Redis store refuses them with Redis out of
// reach (store/redis TestUnitsOverCapOutOfReach): ReasonConcurrency, the
// refusing Cap, and Limit 0 (no pool read).
type outOfReachStore struct{ *memory.Store }

func (s outOfReachStore) Take(now time.Time, req *store.Request, plans store.PlanFunc, l *memory.Lease, d *store.Decision) {
	p := plans(req.Tenant)
	if req.Units > p.Concurrency {
		*d = store.Decision{Reason: store.ReasonConcurrency, Cost: req.Credits, Cap: p.Concurrency,
			Window: p.WindowLength(), RetryAfter: store.ConcurrencyRetryAfter}
		return
	}
	s.Store.Take(now, req, plans, l, d)
}

// A 403 by units decided by a store that read no pool (Limit 0: the Redis
// store out of reach, which still knows the refusing cap) must send no
// limit headers, as every refusal that read no pool (middleware.New: "A
// refusal by a store that reached no pool ... has no limit headers: it
// knows no figures"). refuseNever writes them regardless: X-RateLimit-Limit
// 0 and Remaining 0, a pool of nothing that a client learning plans from
// the headers takes as the tenant's.
func TestUnitsAboveCapNoPoolNoHeaders_r117(t *testing.T) {
	for _, ietf := range []bool{false, true} {
		l, err := limiter.New(testPlan(100, 3, 1), limiter.WithStore[memory.Lease](outOfReachStore{memory.New()}))
		require.NoError(t, err)
		t.Cleanup(func() { _ = l.Close(context.Background()) })
		ct, err := cost.NewTable(1,
			cost.Route{Pattern: "GET /crm/composite", Cost: 1, Units: 5},
			cost.Route{Pattern: "GET /crm/{module}", Cost: 1})
		require.NoError(t, err)
		clock := newClock()
		opts := []Option{WithClock(clock.Now)}
		if ietf {
			opts = append(opts, WithIETFHeaders(""))
		}
		h, err := New(okHandler(), l, ct, opts...)
		require.NoError(t, err)
		e := &env{l: l, h: h, clock: clock}
		rec := e.do("GET", "/crm/composite", "")
		require.Equal(t, http.StatusForbidden, rec.Code, rec.Body.String())
		assert.Equal(t, ByUnits, decodeBody(t, rec).By)
		assert.Empty(t, limitHeaders(rec.Header()), "ietf %v: no pool was read, no pool headers", ietf)
	}
}
