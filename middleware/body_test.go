package middleware

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestRefusalBody(t *testing.T) {
	zero, five := int64(0), int64(5)
	tests := []struct {
		name string
		f    refusal
		want ErrorBody
	}{
		{
			name: "credits",
			f:    refusal{by: ByCredits, cost: 5, limit: 5000, remaining: -2, reset: t0.Add(time.Hour), retryAfter: time.Hour},
			want: ErrorBody{Code: CodeLimitExceeded, Status: "error",
				Message: "the API credits for the current window are used up",
				Details: ErrorDetails{By: ByCredits, Cost: &five, Limit: 5000, Remaining: &zero,
					ResetTime: "2026-11-22T11:00:00Z", RetryAfter: 3600}},
		},
		{
			name: "concurrency",
			f:    refusal{by: ByConcurrency, reset: t0, retryAfter: 100 * time.Millisecond},
			want: ErrorBody{Code: CodeTooManyRequests, Status: "error",
				Message: "too many concurrent calls from this application",
				Details: ErrorDetails{By: ByConcurrency, Cost: &zero, ResetTime: "2026-11-22T10:00:00Z", RetryAfter: 1}},
		},
		{
			name: "sub-concurrency",
			f:    refusal{by: BySubConcurrency, class: `bu"lk<`, retryAfter: time.Second},
			want: ErrorBody{Code: CodeTooManyRequests, Status: "error",
				Message: "too many concurrent calls of this API class",
				Details: ErrorDetails{By: BySubConcurrency, Class: `bu"lk<`, Cost: &zero, RetryAfter: 1}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			raw := appendRefusalBody(nil, tt.f)
			var got ErrorBody
			require.NoError(t, json.Unmarshal(raw, &got), "%s", raw)
			assert.Equal(t, tt.want, got)
			var keys map[string]json.RawMessage
			require.NoError(t, json.Unmarshal(raw, &keys))
			assert.Len(t, keys, 4, "Zoho's error object has exactly code, details, message, status")
		})
	}
}

func TestWriteErrorJSON(t *testing.T) {
	rec := httptest.NewRecorder()
	writeErrorJSON(rec, http.StatusRequestEntityTooLarge, CodeTooLarge, "the request body is too large", 1<<20)
	assert.Equal(t, http.StatusRequestEntityTooLarge, rec.Code)
	assert.Equal(t, []string{"application/json; charset=utf-8"}, rec.Header().Values("Content-Type"))
	assert.Equal(t, []string{"nosniff"}, rec.Header().Values("X-Content-Type-Options"))
	var got ErrorBody
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &got))
	assert.Equal(t, ErrorBody{Code: CodeTooLarge, Status: "error", Message: "the request body is too large",
		Details: ErrorDetails{By: "body", Limit: 1 << 20}}, got)
}

func TestAppendJSONString(t *testing.T) {
	for _, s := range []string{"", "plain", "q\"uote\\", "\x00\x1f\n", "<script>&", "héllo", "bad\xffutf8"} {
		raw := appendJSONString(nil, s)
		var got string
		require.NoError(t, json.Unmarshal(raw, &got), "%q -> %s", s, raw)
		if s == "bad\xffutf8" {
			assert.Equal(t, "bad\ufffdutf8", got)
			continue
		}
		assert.Equal(t, s, got)
		assert.NotContains(t, string(raw), "<")
	}
}

func FuzzAppendJSONString(f *testing.F) {
	for _, s := range []string{"", "bulk", "q\"\\", "\x00\x7f<>&", "héllo\u2028", "bad\xff\xfe"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		raw := appendJSONString(nil, s)
		var got string
		if err := json.Unmarshal(raw, &got); err != nil {
			t.Fatalf("%q -> invalid JSON %s: %v", s, raw, err)
		}
		if want := strings.ToValidUTF8(s, "\ufffd"); utf8.ValidString(s) && got != want {
			t.Fatalf("%q -> %q", s, got)
		}
		if strings.ContainsAny(string(raw), "<>&") {
			t.Fatalf("%q -> unescaped markup characters in %s", s, raw)
		}
	})
}
