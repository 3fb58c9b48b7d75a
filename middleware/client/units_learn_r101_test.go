package client_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/creditgate/creditgate/limiter"
	"github.com/creditgate/creditgate/middleware/client"
)

// While the pool is still to be learned, a composite call goes out as one
// unit (the placeholder's one call at a time holds it alone). Its answer
// teaches the plan (a cap of 5), and the call then holds its slot until
// its body is closed (DESIGN: "the application slot is held until the
// response body is closed") — but still as one unit, not five: four calls
// of one unit are admitted beside a call the API counts as the whole cap.
func TestLearningCompositeHoldsItsUnits_r101(t *testing.T) {
	base := rtFunc(func(r *http.Request) (*http.Response, error) {
		return response(r, http.StatusOK, "{}", "X-RateLimit-Limit", "1000"), nil
	})
	tr := checkedTransport(t, base, client.WithCosts(unitCosts(t, 5)),
		client.WithPlan(limiter.Plan{Name: "learned", Window: time.Hour, Concurrency: 5}))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	comp, err := get(ctx, tr, "", "/crm/composite") // the probe: its answer teaches the pool
	if err != nil {
		t.Fatal(err)
	}
	defer comp.Body.Close()
	if got := tr.Limiter().Plan("").Credits; got != 1000 {
		t.Fatalf("pool not learned from the probe's answer: %d", got)
	}
	ff := client.WithFailFast(context.Background())
	admitted := 0
	for range 4 {
		resp, err := get(ff, tr, "", "/crm/Leads")
		if err != nil {
			break
		}
		defer resp.Body.Close()
		admitted++
	}
	if admitted != 0 {
		t.Errorf("%d calls of one unit admitted beside a composite call (5 units of 5) whose body is still open", admitted)
	}
}
