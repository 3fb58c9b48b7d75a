package middleware

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/creditgate/creditgate/limiter"
)

func TestAdmittedPathAllocs(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts []Option
		max  float64
	}{
		{"default", nil, 1}, // the request state
		{"ietf", []Option{WithIETFHeaders("credits")}, 2}, // plus the full header scratch
	} {
		t.Run(tc.name, func(t *testing.T) {
			l, err := limiter.New(limiter.Plan{Name: "a", BaseCredits: 1 << 40, Concurrency: 1 << 20,
				SubConcurrency: map[string]int64{"bulk": 1 << 20}})
			require.NoError(t, err)
			now := time.Now()
			h, err := New(bareHandler, l, testCosts(t), append([]Option{WithClock(func() time.Time { return now })}, tc.opts...)...)
			require.NoError(t, err)
			r := httptest.NewRequest("GET", "/crm/Leads", nil)
			r.RemoteAddr = "192.0.2.1:4711"
			w := &benchWriter{h: http.Header{}}
			allocs := testing.AllocsPerRun(200, func() {
				clear(w.h)
				h.ServeHTTP(w, r)
			})
			assert.LessOrEqual(t, allocs, tc.max)
			assert.Equal(t, "1099511627776", w.h.Get(HeaderLimit))
		})
	}
}
