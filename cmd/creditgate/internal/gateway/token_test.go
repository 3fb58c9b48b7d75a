package gateway

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

// The metrics endpoint's token guard reads Authorization as the dashboard
// does (RFC 9110 section 11.1: the scheme's name is case-insensitive, and
// one or more spaces follow it), and anything else is 401.
func TestRequireTokenScheme(t *testing.T) {
	h := requireToken("s3cret", http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {}))
	for _, tc := range []struct {
		auth string
		want int
	}{
		{"Bearer s3cret", http.StatusOK},
		{"bearer s3cret", http.StatusOK},
		{"BEARER  s3cret", http.StatusOK},
		{"Bearer s3cre", http.StatusUnauthorized},
		{"Bearer s3cret ", http.StatusUnauthorized},
		{"Bearer s3cretx", http.StatusUnauthorized},
		{"Basic s3cret", http.StatusUnauthorized},
		{"s3cret", http.StatusUnauthorized},
		{"", http.StatusUnauthorized},
	} {
		r := httptest.NewRequest("GET", "/metrics", nil)
		if tc.auth != "" {
			r.Header.Set("Authorization", tc.auth)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		if rec.Code != tc.want {
			t.Errorf("Authorization %q: %d, want %d", tc.auth, rec.Code, tc.want)
		}
	}
}
