package gateway

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/creditgate/creditgate/limiter"
)

// The webhook client is Go's default about redirects: it follows a 301,
// 302 or 303 with a GET, without the body. A receiver that moved (an old
// URL redirecting to its new one, as hosted hook services do) then gets a
// bodiless GET, answers it 200, and the alert counts as delivered while
// its payload reached no one. A redirect must not turn the POST into a
// GET: follow it as a POST, or count the alert failed.
func TestWebhookRedirectDoesNotLoseTheAlert(t *testing.T) {
	for _, code := range []int{http.StatusMovedPermanently, http.StatusFound, http.StatusSeeOther, http.StatusTemporaryRedirect, http.StatusPermanentRedirect} {
		t.Run(http.StatusText(code), func(t *testing.T) {
			var mu sync.Mutex
			var posts, gets int
			mux := http.NewServeMux()
			mux.HandleFunc("/old", func(w http.ResponseWriter, r *http.Request) {
				http.Redirect(w, r, "/new", code)
			})
			mux.HandleFunc("/new", func(w http.ResponseWriter, r *http.Request) {
				mu.Lock()
				defer mu.Unlock()
				if r.Method == http.MethodPost {
					posts++
				} else {
					gets++
				}
			})
			srv := httptest.NewServer(mux)
			defer srv.Close()
			a, _ := testAlerts(t, srv.URL+"/old", 2)
			a.start()
			a.notify(limiter.Alert{Tenant: "acme", Threshold: 80, Used: 8, Limit: 10, At: time.Now()})
			_ = a.close(context.Background())
			delivered := counterValue(t, a.m.webhook.WithLabelValues("delivered"))
			mu.Lock()
			defer mu.Unlock()
			if delivered == 1 && posts == 0 {
				t.Errorf("counted delivered, but the receiver got %d bodiless GET(s) and no POST", gets)
			}
			if keeps := code == http.StatusTemporaryRedirect || code == http.StatusPermanentRedirect; keeps && (delivered != 1 || posts != 1) {
				t.Errorf("a redirect that keeps the POST: delivered %v, posts %d; want it followed and delivered", delivered, posts)
			}
		})
	}
}
