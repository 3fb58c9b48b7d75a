package middleware

import (
	"context"
	"errors"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/creditgate/creditgate/cost"
	"github.com/creditgate/creditgate/limiter"
)

// PricingBudget's fields are unexported, so a budget not made by
// NewPricingBudget (&PricingBudget{}, a zero value in a struct) has no
// bytes; WithSharedPricingBudget refuses only nil, and takes it: every
// request to a body-priced route then gets 413 "larger than the server
// holds to price it", a tiny body too, where New refuses
// WithPricingBudget(0) and NewPricingBudget(0) with ErrBadOption.
func TestSharedPricingBudgetZeroValueRefused_r90(t *testing.T) {
	l, err := limiter.New(testPlan(1<<40, 1<<20, 5))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = l.Close(context.Background()) })
	ct, err := cost.NewTable(1, cost.Route{Pattern: "POST /big", Pricer: cost.RecordsCost("data", 1<<20, 10, 4<<20)})
	if err != nil {
		t.Fatal(err)
	}
	h, err := New(okHandler(), l, ct, WithSharedPricingBudget(&PricingBudget{}))
	if errors.Is(err, ErrBadOption) {
		return
	}
	if err != nil {
		t.Fatalf("New: %v, want ErrBadOption", err)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("POST", "/big", strings.NewReader(records(1))))
	t.Errorf("WithSharedPricingBudget(&PricingBudget{}) accepted; a %d-byte body then gets %d %s",
		len(records(1)), rec.Code, strings.TrimSpace(rec.Body.String()))
}
