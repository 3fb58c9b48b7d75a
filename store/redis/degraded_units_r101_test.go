package redis

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/creditgate/creditgate/cost"
	"github.com/creditgate/creditgate/limiter"
	cgclient "github.com/creditgate/creditgate/middleware/client"
	"github.com/creditgate/creditgate/store"
)

// While Redis is out of reach (Degraded, two instances), an application's
// share of a cap of 5 is 3 units: a composite call of 5 units cannot be
// admitted until Redis is back, yet it is refused for concurrency as if a
// unit might come free. Queued in the client Transport's gate it then
// blocks every call behind it ("nobody overtakes a waiter for the same
// thing"; only a call that can never be admitted blocks nobody), so one
// composite call stalls the whole application for as long as its context
// lasts, although a call of one unit fits the share with nothing held.
func TestDegradedCompositeDoesNotStallOthers_r101(t *testing.T) {
	s := downStore(t)
	p := store.Plan{Name: "free", Credits: 1000, Window: time.Hour, Concurrency: 5}
	l, err := limiter.New(p, limiter.WithStore(s))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close(context.Background())
	costs, err := cost.NewTable(1,
		cost.Route{Pattern: "GET /crm/{module}", Cost: 1},
		cost.Route{Pattern: "POST /crm/composite", Cost: 1, Units: 5})
	if err != nil {
		t.Fatal(err)
	}
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte("{}")) }))
	defer api.Close()
	tr, err := cgclient.New(http.DefaultTransport, cgclient.WithLimiter(l), cgclient.WithCosts(costs))
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close(context.Background())
	hc := &http.Client{Transport: tr}
	do := func(ctx context.Context, method, path string) error {
		req, _ := http.NewRequestWithContext(ctx, method, api.URL+path, nil)
		resp, err := hc.Do(req)
		if err == nil {
			resp.Body.Close()
		}
		return err
	}
	// A call of one unit alone is admitted from the share.
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	err = do(ctx, "GET", "/crm/Leads")
	cancel()
	if err != nil {
		t.Fatalf("a call of one unit, alone, in the degraded share: %v", err)
	}
	compDone := make(chan error, 1)
	cctx, ccancel := context.WithTimeout(context.Background(), 4*time.Second)
	defer ccancel()
	go func() { compDone <- do(cctx, "POST", "/crm/composite") }()
	time.Sleep(300 * time.Millisecond) // the composite call queued
	start := time.Now()
	ctx, cancel = context.WithTimeout(context.Background(), time.Second)
	err = do(ctx, "GET", "/crm/Leads")
	cancel()
	if err != nil {
		t.Errorf("a call of one unit behind a queued composite call (5 units, share 3): %v after %v", err, time.Since(start).Round(time.Millisecond))
	}
	err = <-compDone
	var le *cgclient.LimitError
	if errors.As(err, &le) {
		t.Logf("composite: %v (never %v)", err, le.Never)
	} else {
		t.Logf("composite: %v", err)
	}
}
