package middleware

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/creditgate/creditgate/store/memory"
)

// In shadow mode a request that its body's price refuses goes on to next:
// a body that cannot be priced (longer than the route's limit, sent without
// a Content-Length so that only reading finds it out) unmetered, and one
// priced above what the pool has left as a would-be refusal. Pricing has
// ended by then: next must read the whole body, and what it reads must not
// be counted against the pricing budget (WithPricingBudget: the bytes come
// back "when its pricing ends"). They were: next ran before the budget's
// reader was finished, so a body longer than the budget failed in next with
// the budget's error, and while next ran the other requests' pricing had
// the body's bytes less.
func TestShadowPricedBodyLeavesBudget(t *testing.T) {
	const budget = 4 << 10
	for _, tc := range []struct {
		name string
		body string
	}{
		{"too large to price", records(64 << 10)},               // POST /crm/{module} reads 64 B; the budget is 4 KiB
		{"priced above the pool", `{"data":[1,2,3,4,5,6,7,8]}`}, // 8 credits, 3 left
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got, freeInNext int64
			var readErr error
			var hd *handler
			next := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				got, readErr = io.Copy(io.Discard, r.Body)
				freeInNext = hd.budget.free.Load()
			})
			e := newEnv(t, testPlan(3, 5, 5), next, WithShadowAll(), WithPricingBudget(budget))
			hd = e.h.(*handler)
			r := httptest.NewRequest("POST", "/crm/Leads", strings.NewReader(tc.body))
			r.ContentLength = -1
			rec := httptest.NewRecorder()
			e.h.ServeHTTP(rec, r)
			assert.Equal(t, http.StatusOK, rec.Code, "shadow mode refuses nothing")
			assert.NoError(t, readErr, "next read the body")
			assert.Equal(t, int64(len(tc.body)), got, "next read the whole body")
			assert.Equal(t, int64(budget), freeInNext, "no bytes held for pricing while next ran")
			assert.Equal(t, int64(budget), hd.budget.free.Load())
			assert.Equal(t, int64(3), e.l.Peek(e.clock.Now(), "").Remaining, "nothing spent")
		})
	}
}

// The same requests hold nothing while next runs either: no slot and no
// credits, as a shadow-mode request that would have been refused (by a
// limit, ReportCost's doc says "and so holds nothing") or could not be
// priced ("unmetered, as if the middleware were absent"). They held the
// application's slot and the route's least price until next returned, so
// that with the shadow on one route only, the enforced routes beside it
// were refused for a slot or credits that no admitted request had.
func TestShadowPricedBodyHoldsNothing(t *testing.T) {
	for _, tc := range []struct {
		name string
		body string
	}{
		{"too large to price", records(1 << 10)},
		{"priced above the pool", `{"data":[1,2,3,4,5,6,7,8]}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var e *env
			var held, remaining int64 = -1, -1
			var sideCode int
			next := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.Method != "POST" {
					return
				}
				held = e.l.Store().(*memory.Store).Held("")
				remaining = e.l.Peek(e.clock.Now(), "").Remaining
				sideCode = e.do("GET", "/crm/Leads", "").Code // an enforced route, one slot per app
			})
			e = newEnv(t, testPlan(3, 1, 5), next, WithShadow("POST /crm/{module}"))
			r := httptest.NewRequest("POST", "/crm/Leads", strings.NewReader(tc.body))
			r.ContentLength = -1
			rec := httptest.NewRecorder()
			e.h.ServeHTTP(rec, r)
			assert.Equal(t, http.StatusOK, rec.Code, "shadow mode refuses nothing")
			assert.Equal(t, int64(0), held, "slots held while next ran")
			assert.Equal(t, int64(3), remaining, "credits held while next ran")
			assert.Equal(t, http.StatusOK, sideCode, "an enforced request beside it")
		})
	}
}
