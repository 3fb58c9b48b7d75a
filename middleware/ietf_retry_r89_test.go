package middleware

import (
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// The fact sheet, section 8 (draft-ietf-httpapi-ratelimit-headers-10):
// "Retry-After should not point earlier than t". A concurrency refusal,
// with credits spent earlier in the day, says Retry-After: 1 beside
// RateLimit: "default";r=..;t=<hours>: the two fields of one 429 disagree,
// and a client that follows the draft (waits for t) waits hours for a slot
// that frees in a second, one that follows Retry-After breaks the rule.
func TestIETFRetryAfterNotBeforeT_r89(t *testing.T) {
	release := make(chan struct{})
	entered := make(chan struct{})
	next := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Has("hold") {
			entered <- struct{}{}
			<-release
		}
		_, _ = w.Write([]byte("ok"))
	})
	e := newEnv(t, testPlan(10, 1, 1), next, WithIETFHeaders(""))
	require.Equal(t, http.StatusOK, e.do("GET", "/crm/Leads", "").Code) // a credit spent: t counts to its return
	done := make(chan struct{})
	go func() { defer close(done); e.do("GET", "/crm/Leads?hold=1", "") }()
	<-entered
	rec := e.do("GET", "/crm/Leads", "")
	close(release)
	<-done
	require.Equal(t, http.StatusTooManyRequests, rec.Code)
	ra, err := strconv.ParseInt(rec.Header().Get(HeaderRetryAfter), 10, 64)
	require.NoError(t, err)
	rl := rec.Header().Get(HeaderRateLimit)
	_, tv, ok := strings.Cut(rl, ";t=")
	require.True(t, ok, "RateLimit %q has t", rl)
	tt, err := strconv.ParseInt(tv, 10, 64)
	require.NoError(t, err)
	if ra < tt {
		t.Errorf("429 by %s: Retry-After %d points earlier than RateLimit t=%d (%q)", decodeBody(t, rec).By, ra, tt, rl)
	}
}
