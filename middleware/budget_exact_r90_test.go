package middleware

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/creditgate/creditgate/cost"
	"github.com/creditgate/creditgate/limiter"
)

// A body of exactly the pricing budget's size fits it (it holds the
// budget, no more), but budgetBody fails the read after its last byte,
// which io.ReadAll makes to see the end, with errOverBudget: the request
// gets 413 "larger than the server holds to price it" with the budget as
// its limit, its size. An operator who sets pricing_budget to a route's
// body limit (Zoho's 4 MiB) refuses every body of that limit, which the
// route takes. Bodies one byte shorter pass; one byte longer get 413.
func TestPricingBudgetExactSizeFits_r90(t *testing.T) {
	ct, err := cost.NewTable(1, cost.Route{Pattern: "POST /crm/{module}", Pricer: cost.RecordsCost("data", 10, 10, 4096)})
	if err != nil {
		t.Fatal(err)
	}
	l, err := limiter.New(testPlan(100, 5, 5))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = l.Close(context.Background()) })
	const budget = 1024
	h, err := New(okHandler(), l, ct, WithPricingBudget(budget))
	if err != nil {
		t.Fatal(err)
	}
	body := func(n int) string {
		head := `{"data":[1],"pad":"`
		return head + strings.Repeat("x", n-len(head)-2) + `"}`
	}
	for _, tc := range []struct {
		n    int
		want int
	}{{budget - 1, http.StatusOK}, {budget, http.StatusOK}, {budget + 1, http.StatusRequestEntityTooLarge}} {
		b := body(tc.n)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("POST", "/crm/Leads", strings.NewReader(b)))
		if rec.Code != tc.want {
			t.Errorf("a %d-byte body, budget %d: %d %s, want %d", len(b), budget, rec.Code, strings.TrimSpace(rec.Body.String()), tc.want)
		}
	}
}
