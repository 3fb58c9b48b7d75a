package middleware

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// slowBody advances the clock before its first read: a body that arrives
// after the hour (or midnight) has turned.
type slowBody struct {
	r       io.Reader
	advance func()
}

func (b *slowBody) Read(p []byte) (int, error) {
	if b.advance != nil {
		b.advance()
		b.advance = nil
	}
	return b.r.Read(p)
}

func (b *slowBody) Close() error { return nil }

// Helper-61: a request admitted just before midnight whose body, read after
// it, refuses it, counts its refusal in the hour it was admitted in, where
// its call was counted: no hour shows a negative number of calls or
// credits. (The middleware refuses the ticket at the admission's now.)
func TestBodyRefusalAcrossMidnight(t *testing.T) {
	for _, c := range []struct {
		name, body string
		code       int
	}{
		{"malformed", `{"data":[1,`, http.StatusBadRequest},
		{"price above the pool", `{"data":[1,2,3,4,5,6,7,8]}`, http.StatusForbidden},
	} {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t, testPlan(5, 5, 5), okHandler())
			now := e.clock.Now()
			midnight := time.Date(now.Year(), now.Month(), now.Day()+1, 0, 0, 0, 0, now.Location())
			e.clock.Advance(midnight.Sub(now) - time.Millisecond)
			admitted := e.clock.Now()
			r := httptest.NewRequest("POST", "/crm/Leads", nil)
			r.Body = &slowBody{r: strings.NewReader(c.body), advance: func() { e.clock.Advance(time.Hour) }}
			r.ContentLength = -1
			rec := httptest.NewRecorder()
			e.h.ServeHTTP(rec, r)
			require.Equal(t, c.code, rec.Code)
			var refused int64
			for _, p := range e.usage.Series("", admitted.Add(-time.Hour), admitted.Add(3*time.Hour)) {
				assert.False(t, p.Calls < 0 || p.Credits < 0 || p.Refused < 0, "hour %v: %+v", p.Hour, p)
				assert.Zero(t, p.Calls, "hour %v", p.Hour)
				if p.Refused > 0 {
					assert.Equal(t, admitted.Truncate(time.Hour), p.Hour.Truncate(time.Hour), "the refusal's hour")
				}
				refused += p.Refused
			}
			assert.EqualValues(t, 1, refused)
		})
	}
}
