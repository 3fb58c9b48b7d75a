package middleware

import (
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseHeadersRoundTrip(t *testing.T) {
	for _, cfg := range []headerConfig{{}, {epochReset: true}, {ietf: true, policy: "credits"}} {
		s := limitState{limit: 5000, remaining: 1200, used: 3800, reset: t0.Add(42 * time.Second), window: 24 * time.Hour, retryAfter: 3 * time.Second}
		h := http.Header{}
		writeLimitHeaders(h, &cfg, t0, s, nil)
		l, err := ParseHeaders(t0, h)
		require.NoError(t, err)
		assert.Equal(t, int64(5000), l.Limit)
		assert.Equal(t, int64(1200), l.Remaining)
		assert.Equal(t, int64(3800), l.Used)
		assert.Equal(t, int64(1200), l.CreditsRemaining)
		assert.True(t, l.Reset.Equal(t0.Add(42*time.Second)), "reset %v", l.Reset)
		assert.Equal(t, 3*time.Second, l.RetryAfter)
		assert.True(t, l.Has(FieldLimit|FieldRemaining|FieldUsed|FieldReset|FieldCreditsRemaining|FieldRetryAfter))
		assert.Zero(t, l.Interval.Present)
		if cfg.ietf {
			assert.Equal(t, 24*time.Hour, l.Window)
			assert.Equal(t, "credits", l.Name)
			assert.Equal(t, DialectZoho|DialectIETF, l.Dialects)
		}
	}
}

// TestParseHeadersIETFOrder: of two policies, the longer window is the main
// pool whichever comes first; without windows, the first one is.
func TestParseHeadersIETFOrder(t *testing.T) {
	for _, policy := range []string{`"burst";q=100;w=60, "daily";q=1000;w=86400`, `"daily";q=1000;w=86400, "burst";q=100;w=60`} {
		h := http.Header{"Ratelimit-Policy": {policy}, "Ratelimit": {`"burst";r=50;t=30`}}
		l, err := ParseHeaders(t0, h)
		require.NoError(t, err)
		assert.Equal(t, Pool{Limit: 1000, Window: 24 * time.Hour, Name: "daily", Present: FieldLimit | FieldWindow}, l.Pool)
		assert.Equal(t, Pool{Limit: 100, Remaining: 50, Used: 50, Reset: t0.Add(30 * time.Second), Window: time.Minute,
			Name: "burst", Present: FieldLimit | FieldRemaining | FieldUsed | FieldReset | FieldWindow}, l.Interval)
	}
	l, err := ParseHeaders(t0, http.Header{"Ratelimit": {`"a";r=5, "b";r=7;t=2, "c";r=1`}})
	require.NoError(t, err)
	assert.Equal(t, Pool{Remaining: 5, Name: "a", Present: FieldRemaining}, l.Pool)
	assert.Equal(t, Pool{Remaining: 7, Reset: t0.Add(2 * time.Second), Name: "b", Present: FieldRemaining | FieldReset}, l.Interval)
}

// ietfHeader is a header with RateLimit-Policy and RateLimit, each left
// out when empty.
func ietfHeader(policy, rl string) http.Header {
	h := http.Header{}
	if policy != "" {
		h[keyRateLimitPolicy] = []string{policy}
	}
	if rl != "" {
		h[keyRateLimit] = []string{rl}
	}
	return h
}

func TestParseIETFMembers(t *testing.T) {
	lru := FieldLimit | FieldRemaining | FieldUsed
	for _, tc := range []struct {
		name string
		h    http.Header
		want Pool
	}{
		{"split over lines", http.Header{keyRateLimitPolicy: {`"x";q=9;w=10`, ``}, keyRateLimit: {` `, `"x";r=4`}},
			Pool{Limit: 9, Remaining: 4, Used: 5, Window: 10 * time.Second, Name: "x", Present: lru | FieldWindow}},
		{"token item", ietfHeader(`credits;q=5`, `"credits";r=1`), Pool{Remaining: 1, Name: "credits", Present: FieldRemaining}},
		{"last parameter wins", ietfHeader(`"a";q=1;q=2`, ``), Pool{Limit: 2, Name: "a", Present: FieldLimit}},
		{"a bad last q drops the member", ietfHeader(`"a";q=2;q=x, "b";q=3`, ``), Pool{Limit: 3, Name: "b", Present: FieldLimit}},
		{"negative q", ietfHeader(`"a";q=-1`, ``), Pool{}},
		{"decimal r", ietfHeader(``, `"a";r=1.5`), Pool{}},
		{"no r", ietfHeader(``, `"a";t=5`), Pool{}},
		{"zero window", ietfHeader(`"a";q=5;w=0`, ``), Pool{Limit: 5, Name: "a", Present: FieldLimit}},
		{"vendor and pk parameters", ietfHeader(`"a";q=5;pk=:cHJpdmF0ZQ==:;acme-x=1`, `"a";r=2;pk=:cHJpdmF0ZQ==:`),
			Pool{Limit: 5, Remaining: 2, Used: 3, Name: "a", Present: lru}},
		{"bytes and concurrency are not requests", ietfHeader(
			`"b";q=100;qu="content-bytes", "c";q=10;qu="concurrent-requests", "r";q=7;qu="requests"`, `"b";r=1, "c";r=2`),
			Pool{Limit: 7, Name: "r", Present: FieldLimit}},
		{"escaped name", ietfHeader(`"a\"b";q=5`, `"a\"b";r=5`), Pool{Limit: 5, Remaining: 5, Name: `a\"b`, Present: lru}},
		{"bad escape", ietfHeader(`"a\x";q=5`, ``), Pool{}},
		{"unterminated", ietfHeader(`"abc;q=5`, ``), Pool{}},
		{"junk after the item", ietfHeader(`"a"x;q=5`, ``), Pool{}},
		{"control character", ietfHeader("\"a\tb\";q=5", ``), Pool{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l, err := ParseHeaders(t0, tc.h)
			require.NoError(t, err, "malformed IETF fields are ignored, not errors")
			assert.Equal(t, tc.want, l.Pool)
		})
	}
}

// TestParseIETFHugeSeconds: w and t are sf-integers of up to 15 digits,
// whose product with time.Second once overflowed into a negative window and
// a reset in the past. Beyond 366 days they are ignored, without an error.
func TestParseIETFHugeSeconds(t *testing.T) {
	for _, tc := range []struct {
		n       string
		present bool
	}{{"10000000000", false}, {"999999999999999", false}, {"4611686019", false}, {"31622401", false}, {"31622400", true}} {
		h := ietfHeader(`"credits";q=100;w=`+tc.n, `"credits";r=0;t=`+tc.n)
		l, err := ParseHeaders(t0, h)
		require.NoError(t, err, "malformed IETF fields are ignored, not errors")
		assert.Equal(t, tc.present, l.Has(FieldWindow), "w=%s", tc.n)
		assert.Equal(t, tc.present, l.Has(FieldReset), "t=%s", tc.n)
		if tc.present {
			assert.Equal(t, 366*24*time.Hour, l.Window, "w=%s", tc.n)
			assert.Equal(t, t0.Add(366*24*time.Hour), l.Reset, "t=%s", tc.n)
		}
		assert.Equal(t, int64(100), l.Limit)
	}
}

func TestParseHeadersErrors(t *testing.T) {
	tests := []struct {
		name    string
		h       http.Header
		bad     string
		present Fields
	}{
		{"negative limit", http.Header{"X-Ratelimit-Limit": {"-1"}, "X-Ratelimit-Remaining": {"3"}}, HeaderLimit, FieldRemaining},
		{"float reset", http.Header{"X-Ratelimit-Reset": {"1.5"}}, HeaderReset, 0},
		{"huge remaining", http.Header{"X-Ratelimit-Remaining": {"99999999999999999999"}}, HeaderRemaining, 0},
		{"past 2^53", http.Header{"X-Ratelimit-Limit": {"9007199254740993"}}, HeaderLimit, 0},
		{"hex", http.Header{"X-Ratelimit-Limit": {"0x10"}}, HeaderLimit, 0},
		{"plus sign", http.Header{"X-Ratelimit-Limit": {"+5"}}, HeaderLimit, 0},
		{"empty", http.Header{"X-Ratelimit-Limit": {""}}, HeaderLimit, 0},
		{"bad retry-after", http.Header{"Retry-After": {"soon"}, "X-Ratelimit-Limit": {" 7 "}}, HeaderRetryAfter, FieldLimit},
		{"duplicates that differ", http.Header{"X-Ratelimit-Remaining": {"5", "7"}}, HeaderRemaining, 0},
		{"joined duplicates that differ", http.Header{"X-Ratelimit-Remaining": {"5, 6"}}, HeaderRemaining, 0},
		{"retry-after twice", http.Header{"Retry-After": {"5", "6"}}, HeaderRetryAfter, 0},
		{"reset a year and a day away", http.Header{"X-Ratelimit-Reset": {"31708800"}}, HeaderReset, 0},
		{"epoch reset two years away", http.Header{"X-Ratelimit-Reset": {itoa(t0Epoch + 2*365*86400)}}, HeaderReset, 0},
		{"epoch reset in 2001", http.Header{"X-Ratelimit-Reset": {"1000000000"}}, HeaderReset, 0},
		{"resource with a space", http.Header{"X-Ratelimit-Resource": {"co re"}}, "X-RateLimit-Resource", 0},
		{"zero hubspot interval", http.Header{"X-Hubspot-Ratelimit-Interval-Milliseconds": {"0"}}, "X-HubSpot-RateLimit-Interval-Milliseconds", 0},
		{"hubspot daily", http.Header{"X-Hubspot-Ratelimit-Daily": {"lots"}}, "X-HubSpot-RateLimit-Daily", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l, err := ParseHeaders(t0, tt.h)
			var he *HeaderError
			require.True(t, errors.As(err, &he), "err %v", err)
			assert.Equal(t, tt.bad, he.Name)
			assert.ErrorIs(t, err, ErrMalformedHeader)
			assert.Equal(t, tt.present, l.Present)
			assert.Zero(t, l.Interval.Present)
		})
	}
}

func TestParseHeadersAccepted(t *testing.T) {
	for _, tc := range []struct {
		name string
		h    http.Header
		want Pool
	}{
		{"duplicates that agree", http.Header{"X-Ratelimit-Remaining": {"5", " 5"}}, Pool{Remaining: 5, Present: FieldRemaining}},
		{"joined duplicates that agree", http.Header{"X-Ratelimit-Remaining": {"5,5"}}, Pool{Remaining: 5, Present: FieldRemaining}},
		{"remaining above limit", http.Header{"X-Ratelimit-Limit": {"5"}, "X-Ratelimit-Remaining": {"9"}},
			Pool{Limit: 5, Remaining: 9, Present: FieldLimit | FieldRemaining}},
		{"epoch reset just past", http.Header{"X-Ratelimit-Reset": {itoa(t0Epoch - 10)}}, Pool{Reset: t0, Present: FieldReset}},
		{"reset a year away", http.Header{"X-Ratelimit-Reset": {"31622400"}}, Pool{Reset: t0.Add(366 * 24 * time.Hour), Present: FieldReset}},
		{"credits lower than remaining", http.Header{"X-Ratelimit-Remaining": {"9"}, "X-Api-Credits-Remaining": {"4"}},
			Pool{Remaining: 4, Present: FieldRemaining | FieldCreditsRemaining}},
		{"credits alone", http.Header{"X-Api-Credits-Remaining": {"4"}}, Pool{Remaining: 4, Present: FieldRemaining | FieldCreditsRemaining}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l, err := ParseHeaders(t0, tc.h)
			require.NoError(t, err)
			assert.Equal(t, normalized(Limits{Pool: tc.want}).Pool, normalized(Limits{Pool: l.Pool}).Pool)
		})
	}
}

func TestParseRetryAfter(t *testing.T) {
	for _, tc := range []struct {
		value string
		want  time.Duration
		ok    bool
	}{
		{"0", 0, true},
		{" 120 ", 2 * time.Minute, true},
		{"31622400", 366 * 24 * time.Hour, true},
		{"31622401", 0, false},
		{"99999999999", 0, false},
		{"-5", 0, false},
		{"1.5", 0, false},
		{t0.Add(2 * time.Minute).Format(http.TimeFormat), 2 * time.Minute, true},
		{t0.Add(-time.Hour).Format(http.TimeFormat), 0, true}, // a date passed: retry now
		{t0.Add(400 * 24 * time.Hour).Format(http.TimeFormat), 0, false},
		{"Fri, 31 Dec 9999 23:59:59 GMT", 0, false},
		{"Sunday, 22-Nov-26 10:01:00 GMT", time.Minute, true}, // RFC 850, obsolete
		{"Sun Nov 22 10:01:00 2026", time.Minute, true},       // asctime, obsolete
		{"Sun, 31 Nov 2026 10:01:00 GMT", 0, false},           // no 31 November
		{"soon", 0, false},
	} {
		l, err := ParseHeaders(t0, http.Header{"Retry-After": {tc.value}})
		assert.Equal(t, tc.ok, err == nil, "%q: %v", tc.value, err)
		assert.Equal(t, tc.ok, l.Has(FieldRetryAfter), tc.value)
		assert.Equal(t, tc.want, l.RetryAfter, tc.value)
	}
}

func TestLimitsAvailable(t *testing.T) {
	day := Pool{Limit: 100, Remaining: 0, Reset: t0.Add(time.Hour), Present: FieldLimit | FieldRemaining | FieldReset}
	burst := Pool{Limit: 10, Remaining: 3, Window: 10 * time.Second, Present: FieldLimit | FieldRemaining | FieldWindow}
	for _, tc := range []struct {
		name string
		l    Limits
		n    int64
		more time.Time
		ok   bool
	}{
		{"nothing said", Limits{}, 0, time.Time{}, false},
		{"limit only", Limits{Pool: Pool{Limit: 5, Present: FieldLimit}}, 0, time.Time{}, false},
		{"main pool exhausted", Limits{Pool: day, Interval: burst}, 0, t0.Add(time.Hour), true},
		{"interval binds", Limits{Pool: Pool{Remaining: 50, Present: FieldRemaining}, Interval: burst}, 3, t0.Add(10 * time.Second), true},
		{"reset unknown", Limits{Pool: Pool{Remaining: 0, Present: FieldRemaining}}, 0, time.Time{}, true},
		{"retry-after later than the pools", Limits{Pool: Pool{Remaining: 7, Present: FieldRemaining | FieldRetryAfter}, RetryAfter: time.Minute},
			0, t0.Add(time.Minute), true},
		{"retry-after earlier than an exhausted pool", Limits{Pool: Pool{Remaining: 0, Reset: t0.Add(time.Hour),
			Present: FieldRemaining | FieldReset | FieldRetryAfter}, RetryAfter: time.Minute}, 0, t0.Add(time.Hour), true},
		{"both exhausted", Limits{Pool: day, Interval: Pool{Remaining: 0, Window: 10 * time.Second, Present: FieldRemaining | FieldWindow}},
			0, t0.Add(time.Hour), true},
		{"zero retry-after", Limits{Pool: Pool{Present: FieldRetryAfter}}, 0, time.Time{}, false},
	} {
		n, more, ok := tc.l.Available(t0)
		assert.Equal(t, tc.n, n, tc.name)
		assert.Equal(t, tc.more, more, tc.name)
		assert.Equal(t, tc.ok, ok, tc.name)
	}
}

func TestDialectString(t *testing.T) {
	assert.Equal(t, "none", Dialect(0).String())
	assert.Equal(t, "hubspot", DialectHubSpot.String())
	assert.Equal(t, "zoho|ietf|salesforce", (DialectZoho | DialectIETF | DialectSalesforce).String())
	assert.Equal(t, "zoho|github|ietf|hubspot|salesforce", Dialect(0xff).String())
}

// TestParseHostileHeaderLinear: a RateLimit list with a long tail of spaces
// and Retry-After lines after a padded first one used to take time
// quadratic in their size (2 MB: minutes; BenchmarkParseHeadersHostile),
// which a hostile server could use to stall its clients. The watchdog only
// catches that: the parse takes milliseconds.
func TestParseHostileHeaderLinear(t *testing.T) {
	h := hostileHeader(2 << 20)
	done := make(chan Limits, 1)
	go func() { l, _ := ParseHeaders(t0, h); done <- l }()
	select {
	case l := <-done:
		assert.Equal(t, Pool{Remaining: 1, Name: "a", Present: FieldRemaining}, l.Pool)
		assert.False(t, l.Has(FieldRetryAfter), "its lines differ")
	case <-time.After(time.Minute):
		t.Fatal("ParseHeaders still running after a minute")
	}
}
