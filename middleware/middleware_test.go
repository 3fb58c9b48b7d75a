package middleware

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/creditgate/creditgate/cost"
	"github.com/creditgate/creditgate/limiter"
)

func TestNewRejectsBadConfig(t *testing.T) {
	l, err := limiter.New(testPlan(10, 1, 1))
	require.NoError(t, err)
	ct := testCosts(t)
	tests := []struct {
		name string
		next http.Handler
		l    *limiter.Limiter
		ct   *cost.Table
		opts []Option
		want error
	}{
		{"nil next", nil, l, ct, nil, ErrNilHandler},
		{"nil limiter", okHandler(), nil, ct, nil, ErrNilLimiter},
		{"nil costs", okHandler(), l, nil, nil, ErrNilCosts},
		{"nil option", okHandler(), l, ct, []Option{nil}, ErrBadOption},
		{"bad proxy", okHandler(), l, ct, []Option{WithTrustedProxies("10.0.0.1")}, ErrBadOption},
		{"bad policy", okHandler(), l, ct, []Option{WithIETFHeaders(`a"b`)}, ErrBadOption},
		{"nil clock", okHandler(), l, ct, []Option{WithClock(nil)}, ErrBadOption},
		{"nil logger", okHandler(), l, ct, []Option{WithLogger(nil)}, ErrBadOption},
		{"nil counters", okHandler(), l, ct, []Option{WithCounters(nil)}, ErrBadOption},
		{"nil hook", okHandler(), l, ct, []Option{WithDecisionHook(nil)}, ErrBadOption},
		{"bad v6 prefix", okHandler(), l, ct, []Option{WithIPPrefixes(0, 32)}, ErrBadOption},
		{"bad v4 prefix", okHandler(), l, ct, []Option{WithIPPrefixes(64, 33)}, ErrBadOption},
		// A list from configuration may be empty: that must not shadow everything.
		{"empty shadow list", okHandler(), l, ct, []Option{WithShadow([]string(nil)...)}, ErrBadOption},
		// A typo must not leave the route it meant enforcing.
		{"unknown shadow route", okHandler(), l, ct, []Option{WithShadow("POST /crm/bulk", "GET /crm/{modul}")}, ErrBadOption},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, err := New(tt.next, tt.l, tt.ct, tt.opts...)
			assert.ErrorIs(t, err, tt.want)
			assert.Nil(t, h)
		})
	}
	t.Run("class without a cap", func(t *testing.T) {
		l2, err := limiter.New(limiter.Plan{Name: "p", Credits: 10, Concurrency: 1})
		require.NoError(t, err)
		_, err = New(okHandler(), l2, ct)
		assert.ErrorIs(t, err, cost.ErrUnknownClass)
	})
}

func TestAdmitHeadersExact(t *testing.T) {
	var seen *http.Request
	e := newEnv(t, testPlan(10, 5, 5), http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen = r
		w.WriteHeader(http.StatusCreated)
	}), WithIETFHeaders(""))
	r := httptest.NewRequest("GET", "/crm/Leads", nil)
	r.Header.Set(HeaderClientID, "app1")
	rec := httptest.NewRecorder()
	e.h.ServeHTTP(rec, r)
	assert.Equal(t, http.StatusCreated, rec.Code)
	require.NotNil(t, seen)
	assert.Same(t, r, seen, "next gets the request itself: nothing about it changes")
	reset := limitHeaders(rec.Header()).Get(HeaderReset)
	assert.NotEqual(t, "0", reset, "credits were spent, so a reset lies ahead")
	assert.Equal(t, http.Header{
		"X-Ratelimit-Limit": {"10"}, "X-Ratelimit-Remaining": {"9"}, "X-Ratelimit-Reset": {reset},
		"Ratelimit-Policy": {`"credits";q=10;w=86400`}, "Ratelimit": {`"credits";r=9;t=` + reset},
	}, limitHeaders(rec.Header()))

	// Spend 5 more: now more than half is used and X-API-CREDITS-REMAINING appears.
	for range 5 {
		rec = e.do("GET", "/crm/Leads", "")
	}
	assert.Equal(t, "4", rec.Header().Get(HeaderRemaining))
	assert.Equal(t, "4", rec.Header().Get(HeaderCreditsRemaining))
}

// The IETF w parameter is each tenant's own window, also when requests of
// tenants with different windows alternate, and follows a plan change at
// once, even one that keeps the pool size.
func TestIETFWindowPerTenant(t *testing.T) {
	e := newEnv(t, testPlan(10, 5, 5), okHandler(), WithIETFHeaders(""), Keys{Tenant: FromHeader("X-Tenant")})
	hourly := testPlan(10, 5, 5)
	hourly.Window = time.Hour
	require.NoError(t, e.l.SetPlanAt(e.clock.Now(), "b", hourly))
	policy := func(tenant string) string {
		return e.do("GET", "/crm/Leads", "", "X-Tenant", tenant).Header().Get(HeaderRateLimitPolicy)
	}
	for range 2 {
		assert.Equal(t, `"credits";q=10;w=86400`, policy("a"))
		assert.Equal(t, `"credits";q=10;w=3600`, policy("b"))
	}
	twoHours := testPlan(10, 5, 5)
	twoHours.Window = 2 * time.Hour
	require.NoError(t, e.l.SetPlanAt(e.clock.Now(), "b", twoHours))
	assert.Equal(t, `"credits";q=10;w=7200`, policy("b"))
	assert.Equal(t, `"credits";q=10;w=86400`, policy("a"))
}

func TestRefuseCredits(t *testing.T) {
	calls := 0
	e := newEnv(t, testPlan(7, 5, 5), http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { calls++ }))
	assert.Equal(t, http.StatusOK, e.do("POST", "/crm/bulk", "").Code)
	rec := e.do("POST", "/crm/bulk", "")
	assert.Equal(t, http.StatusTooManyRequests, rec.Code)
	assert.Equal(t, 1, calls, "a refused request never reaches the handler")
	b := decodeBody(t, rec)
	assert.Equal(t, ByCredits, b.By)
	assert.Equal(t, "bulk", b.Class)
	assert.Equal(t, int64(7), b.Limit)
	require.NotNil(t, b.Remaining)
	assert.Equal(t, int64(2), *b.Remaining)
	require.NotNil(t, b.Cost, "the body says what the refused request would have cost")
	assert.Equal(t, int64(5), *b.Cost)
	ra := rec.Header().Get(HeaderRetryAfter)
	assert.NotEmpty(t, ra)
	assert.Equal(t, ra, itoa(b.RetryAfter), "Retry-After and the body agree")
	assert.Greater(t, b.RetryAfter, int64(3600), "credits come back only when the rolling window moves")
	assert.Equal(t, http.Header{
		"X-Ratelimit-Limit": {"7"}, "X-Ratelimit-Remaining": {"2"}, "X-Ratelimit-Reset": {ra},
		"X-Api-Credits-Remaining": {"2"}, "Retry-After": {ra},
	}, limitHeaders(rec.Header()), "credits come back when the window moves: reset and retry agree")
	// A cheaper call still fits.
	assert.Equal(t, http.StatusOK, e.do("GET", "/crm/Leads", "").Code)
}

// holder's handler blocks requests with ?hold until finish; start sends one
// in a goroutine and returns once it is in the handler.
type holder struct {
	entered chan struct{}
	release chan struct{}
	wg      sync.WaitGroup
}

func newHolder() *holder {
	return &holder{entered: make(chan struct{}, 100), release: make(chan struct{})}
}

func (h *holder) handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !r.URL.Query().Has("hold") {
			return
		}
		h.entered <- struct{}{}
		<-h.release
	})
}

func (h *holder) start(t *testing.T, e *env, method, target string, hdr ...string) {
	h.wg.Add(1)
	go func() {
		defer h.wg.Done()
		e.do(method, target+"?hold", "", hdr...)
	}()
	select {
	case <-h.entered:
	case <-time.After(10 * time.Second):
		t.Fatal("held request never reached the handler")
	}
}

func (h *holder) finish() { close(h.release); h.wg.Wait() }

func TestRefuseConcurrency(t *testing.T) {
	hd := newHolder()
	e := newEnv(t, testPlan(100, 1, 5), hd.handler())
	hd.start(t, e, "GET", "/crm/Leads", HeaderClientID, "a")
	rec := e.do("GET", "/crm/Leads", "", HeaderClientID, "a")
	assert.Equal(t, http.StatusTooManyRequests, rec.Code)
	b := decodeBody(t, rec)
	assert.Equal(t, ByConcurrency, b.By)
	assert.Nil(t, b.Remaining, "a concurrency refusal says nothing about credits in the body")
	assert.Equal(t, "1", rec.Header().Get(HeaderRetryAfter))
	assert.Equal(t, "99", rec.Header().Get(HeaderRemaining), "the refused call spent nothing")
	// Another application has its own cap.
	assert.Equal(t, http.StatusOK, e.do("GET", "/free", "", HeaderClientID, "b").Code)
	hd.finish()
	assert.Equal(t, http.StatusOK, e.do("GET", "/free", "", HeaderClientID, "a").Code, "the slot came back")
}

func TestRefuseSubConcurrency(t *testing.T) {
	hd := newHolder()
	e := newEnv(t, testPlan(100, 5, 1), hd.handler())
	hd.start(t, e, "POST", "/crm/bulk", HeaderClientID, "a")
	rec := e.do("POST", "/crm/bulk", "", HeaderClientID, "b")
	assert.Equal(t, http.StatusTooManyRequests, rec.Code)
	b := decodeBody(t, rec)
	assert.Equal(t, BySubConcurrency, b.By)
	assert.Equal(t, "bulk", b.Class)
	require.NotNil(t, b.Cost)
	assert.Equal(t, int64(5), *b.Cost)
	hd.finish()
	assert.Equal(t, int64(95), e.l.Peek(e.clock.Now(), "").Remaining, "the held bulk call cost 5, the refused one nothing")
}

func TestSlotReleasedAfterReturn(t *testing.T) {
	hd := newHolder()
	e := newEnv(t, testPlan(100, 1, 5), hd.handler())
	hd.start(t, e, "GET", "/crm/Leads")
	assert.Equal(t, http.StatusTooManyRequests, e.do("GET", "/crm/Leads", "").Code)
	hd.finish()
	hd2 := newHolder()
	e.h, _ = New(hd2.handler(), e.l, testCosts(t), WithClock(e.clock.Now))
	hd2.start(t, e, "GET", "/crm/Leads")
	hd2.finish()
}

func TestPanicReleasesAndRepanics(t *testing.T) {
	boom := errors.New("boom")
	var cs Counters
	e := newEnv(t, testPlan(10, 1, 5), http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Has("panic") {
			panic(boom)
		}
	}), WithCounters(&cs))
	func() {
		defer func() {
			assert.Same(t, boom, recover(), "the handler's panic goes on unchanged")
		}()
		e.do("GET", "/crm/Leads?panic=1", "")
		t.Fatal("no panic")
	}()
	assert.Equal(t, int64(10), e.l.Peek(e.clock.Now(), "").Remaining, "a panicking call is refunded like a 5xx")
	assert.Equal(t, int64(1), cs.Refunded.Load())
	assert.Equal(t, http.StatusOK, e.do("GET", "/crm/Leads", "").Code, "the concurrency slot came back")
}

func TestRefund5xxAndReportCost(t *testing.T) {
	next := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Query().Get("do") {
		case "fail":
			w.WriteHeader(http.StatusBadGateway)
		case "report3":
			assert.True(t, ReportCost(w, 3))
		case "report0":
			assert.True(t, ReportCost(w, 0))
		}
	})
	tests := []struct {
		name      string
		opts      []Option
		target    string
		remaining int64
	}{
		{"5xx refunded by default", nil, "/crm/bulk?do=fail", 100},
		{"5xx kept when refunds are off", []Option{WithRefund5xx(false)}, "/crm/bulk?do=fail", 95},
		{"report lower cost", nil, "/crm/bulk?do=report3", 97},
		{"report zero refunds", nil, "/crm/bulk?do=report0", 100},
		{"report higher cost", nil, "/crm/Leads/x?do=report3", 97},
		{"plain", nil, "/crm/bulk", 95},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, testPlan(100, 5, 5), next, tt.opts...)
			e.do("POST", tt.target, "")
			assert.Equal(t, tt.remaining, e.l.Peek(e.clock.Now(), "").Remaining)
		})
	}
	assert.False(t, ReportCost(httptest.NewRecorder(), 1), "no middleware, nothing to report to")
}

// unwrapWriter is another middleware's writer between ours and the handler.
type unwrapWriter struct{ http.ResponseWriter }

func (w unwrapWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// opaqueWriter wraps without Unwrap: ReportCost cannot see through it.
type opaqueWriter struct{ http.ResponseWriter }

func TestReportCostWriter(t *testing.T) {
	var (
		got   *http.Request
		kept  http.ResponseWriter
		inner = map[string]func(http.ResponseWriter) http.ResponseWriter{
			"unwrap":  func(w http.ResponseWriter) http.ResponseWriter { return unwrapWriter{unwrapWriter{w}} },
			"opaque":  func(w http.ResponseWriter) http.ResponseWriter { return opaqueWriter{w} },
			"direct":  func(w http.ResponseWriter) http.ResponseWriter { return w },
			"goroute": func(w http.ResponseWriter) http.ResponseWriter { return w },
		}
	)
	next := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got, kept = r, w
		do := r.URL.Query().Get("do")
		rw := inner[do](w)
		switch do {
		case "goroute":
			// Another goroutine reports while the handler runs, racing
			// with a report of its own; the last one wins (both are 2).
			done := make(chan bool)
			go func() { done <- ReportCost(rw, 2) }()
			assert.True(t, ReportCost(rw, 2))
			assert.True(t, <-done)
		case "opaque":
			assert.False(t, ReportCost(rw, 2), "a writer without Unwrap hides the middleware")
		default:
			assert.False(t, ReportCost(rw, -1), "negative cost")
			assert.True(t, ReportCost(rw, 9))
			assert.True(t, ReportCost(rw, 2), "the last call wins")
		}
	})
	for _, tt := range []struct {
		do        string
		remaining int64
	}{{"direct", 98}, {"unwrap", 98}, {"goroute", 98}, {"opaque", 95}} {
		t.Run(tt.do, func(t *testing.T) {
			e := newEnv(t, testPlan(100, 5, 5), next)
			r := httptest.NewRequest("POST", "/crm/bulk?do="+tt.do, nil)
			rec := httptest.NewRecorder()
			e.h.ServeHTTP(rec, r)
			assert.Same(t, r, got, "next gets the request unchanged")
			assert.Equal(t, tt.remaining, e.l.Peek(e.clock.Now(), "").Remaining)
			assert.False(t, ReportCost(kept, 0), "the handler returned: too late")
			assert.Equal(t, tt.remaining, e.l.Peek(e.clock.Now(), "").Remaining, "a late report changes nothing")
		})
	}
}

func TestCostErrors(t *testing.T) {
	calls := 0
	e := newEnv(t, testPlan(100, 5, 5), http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { calls++ }))
	rec := e.do("POST", "/crm/Leads", `{"data":[`+"<script>")
	assert.Equal(t, http.StatusBadRequest, rec.Code)
	b := decodeBody(t, rec)
	assert.Empty(t, b.By)
	assert.NotContains(t, rec.Body.String(), "script", "request input is never echoed")

	big := `{"data":[` + string(make([]byte, 100)) + `]}`
	rec = e.do("POST", "/crm/Leads", big)
	assert.Equal(t, http.StatusRequestEntityTooLarge, rec.Code)
	b = decodeBody(t, rec)
	assert.Equal(t, ByBody, b.By)
	assert.Equal(t, int64(64), b.Limit)
	assert.Zero(t, calls)

	// A tighter http.MaxBytesReader around the body is refused the same way.
	r := httptest.NewRequest("POST", "/crm/Leads", strings.NewReader(`{"data":[1,2,3,4,5,6,7,8,9]}`))
	rec = httptest.NewRecorder()
	r.Body = http.MaxBytesReader(rec, r.Body, 10)
	e.h.ServeHTTP(rec, r)
	assert.Equal(t, http.StatusRequestEntityTooLarge, rec.Code)
	b = decodeBody(t, rec)
	assert.Equal(t, ByBody, b.By)
	assert.Equal(t, int64(10), b.Limit)
	assert.Zero(t, calls)

	// In shadow mode an unpriceable request goes on, unmetered.
	var cs Counters
	sh := newEnv(t, testPlan(100, 5, 5), okHandler(), WithShadow("POST /crm/{module}"), WithCounters(&cs))
	assert.Equal(t, http.StatusOK, sh.do("POST", "/crm/Leads", big).Code)
	assert.Equal(t, int64(1), cs.CostErrors.Load())
	assert.Equal(t, int64(100), sh.l.Peek(sh.clock.Now(), "").Remaining)

	rec = e.do("POST", "/crm/Leads", `{"data":[{},{},{}]}`)
	assert.Equal(t, http.StatusOK, rec.Code)
	assert.Equal(t, "97", rec.Header().Get(HeaderRemaining), "three records, three credits")
	assert.Equal(t, 1, calls)
}

// parties, which looks the context Identity up once for the default keys,
// gives what the key functions give one by one, for every mix of default and
// custom keys.
func TestPartiesMatchKeys(t *testing.T) {
	custom := func(s string) KeyFunc { return func(*http.Request) string { return s } }
	ctxs := map[string]context.Context{
		"none":    context.Background(),
		"full":    ContextWithIdentity(context.Background(), Identity{Tenant: "t", App: "a", User: "u"}),
		"partial": ContextWithIdentity(context.Background(), Identity{Tenant: "t"}),
	}
	for mask := range 8 {
		var k Keys
		if mask&1 != 0 {
			k.Tenant = custom("T")
		}
		if mask&2 != 0 {
			k.App = custom("A")
		}
		if mask&4 != 0 {
			k.User = custom("U")
		}
		cfg, err := buildConfig([]Option{k})
		require.NoError(t, err)
		for name, ctx := range ctxs {
			r := httptest.NewRequestWithContext(ctx, "GET", "/", nil)
			r.Header.Set(HeaderClientID, "hdr-app")
			r.Header.Set(HeaderUserID, "hdr-user")
			tenant, app, user := cfg.parties(r, true)
			assert.Equal(t, []string{cfg.keys.Tenant(r), cfg.keys.App(r), cfg.keys.User(r)},
				[]string{tenant, app, user}, "mask %d, identity %s", mask, name)
			tenant, app, user = cfg.parties(r, false)
			assert.Equal(t, []string{cfg.keys.Tenant(r), cfg.keys.App(r), ""},
				[]string{tenant, app, user}, "mask %d, identity %s, no user", mask, name)
		}
	}
	cfg, err := buildConfig(nil)
	require.NoError(t, err)
	r := httptest.NewRequestWithContext(ctxs["partial"], "GET", "/", nil)
	r.Header.Set(HeaderClientID, "hdr-app")
	tenant, app, user := cfg.parties(r, true)
	assert.Equal(t, []string{"t", "hdr-app", ""}, []string{tenant, app, user})
}

// The user and IP keys run only when something uses them: the limiter's
// usage statistics.
func TestStatsKeysOnlyWhenUsed(t *testing.T) {
	var users, ips atomic.Int64
	keys := Keys{
		User: func(*http.Request) string { users.Add(1); return "u" },
		IP:   func(*http.Request) string { ips.Add(1); return "192.0.2.9" },
	}
	for _, tc := range []struct {
		name string
		opts []limiter.Option
		want int64
	}{
		{"in-memory store, no usage", nil, 0},
		{"usage", []limiter.Option{limiter.WithUsage(newStats(t))}, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			users.Store(0)
			ips.Store(0)
			l, err := limiter.New(testPlan(100, 5, 5), tc.opts...)
			require.NoError(t, err)
			t.Cleanup(func() { _ = l.Close(context.Background()) })
			h, err := New(okHandler(), l, testCosts(t), keys)
			require.NoError(t, err)
			for range 2 {
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, httptest.NewRequest("GET", "/crm/Leads", nil))
				require.Equal(t, http.StatusOK, rec.Code)
			}
			assert.Equal(t, tc.want, users.Load())
			assert.Equal(t, tc.want, ips.Load())
		})
	}
}

func TestIPKeyOptions(t *testing.T) {
	l, err := limiter.New(testPlan(100, 5, 5))
	require.NoError(t, err)
	tests := []struct {
		name   string
		opts   []Option
		remote string
		xff    string
		want   string
	}{
		{"default ignores xff", nil, "10.0.0.1:1", "2001:db8:1:2::5", "10.0.0.1"},
		{"trusted proxy", []Option{WithTrustedProxies("10.0.0.0/8")}, "10.0.0.1:1", "2001:db8:1:2::5", "2001:db8:1:2::/64"},
		{"prefixes after proxies", []Option{WithTrustedProxies("10.0.0.0/8"), WithIPPrefixes(48, 24)}, "10.0.0.1:1", "2001:db8:1:2::5", "2001:db8:1::/48"},
		{"prefixes before proxies", []Option{WithIPPrefixes(128, 24), WithTrustedProxies("10.0.0.0/8")}, "10.0.0.1:1", "198.51.100.7", "198.51.100.0/24"},
		{"forwarded header", []Option{WithTrustedProxies("10.0.0.0/8"), WithForwardedHeader()}, "10.0.0.1:1", "198.51.100.7", "10.0.0.1"},
		{"custom key wins", []Option{WithTrustedProxies("10.0.0.0/8"), Keys{IP: func(*http.Request) string { return "x" }}}, "10.0.0.1:1", "198.51.100.7", "x"},
		// A proxy network in its IPv4-mapped IPv6 form (as an IPv6 socket
		// shows an IPv4 peer, "::ffff:10.0.0.1") is the same network: it
		// was never matched, since peers and hops are compared unmapped,
		// and every client took the proxy's address (one pool for all,
		// with the IP key as the tenant).
		{"ipv4-mapped trusted proxy", []Option{WithTrustedProxies("::ffff:10.0.0.0/104")}, "10.0.0.1:1", "198.51.100.7", "198.51.100.7"},
		{"ipv4-mapped trusted proxy, mapped peer", []Option{WithTrustedProxies("::ffff:10.0.0.0/104")}, "[::ffff:10.0.0.1]:1", "198.51.100.7, ::ffff:10.2.2.2", "198.51.100.7"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := buildConfig(tt.opts)
			require.NoError(t, err)
			r := httptest.NewRequest("GET", "/", nil)
			r.RemoteAddr = tt.remote
			r.Header.Set("X-Forwarded-For", tt.xff)
			assert.Equal(t, tt.want, cfg.keys.IP(r))
		})
	}
	_, err = New(okHandler(), l, testCosts(t), Keys{Tenant: FromHeader("X-Tenant")})
	require.NoError(t, err)
}

// TestClientIPTenantBehindProxy: ClientIP.Key as the tenant key behind a
// trusted proxy that appends X-Forwarded-For. A client-sent Forwarded header
// used to win, so every faked address got a fresh credit pool.
func TestClientIPTenantBehindProxy(t *testing.T) {
	l, err := limiter.New(testPlan(1, 10, 1))
	require.NoError(t, err)
	defer l.Close(context.Background())
	ip := ClientIP{TrustedProxies: prefixes("127.0.0.0/8", "::1/128")}
	h, err := New(okHandler(), l, testCosts(t), Keys{Tenant: ip.Key})
	require.NoError(t, err)
	backend := httptest.NewServer(h)
	defer backend.Close()
	u, err := url.Parse(backend.URL)
	require.NoError(t, err)
	proxy := httputil.NewSingleHostReverseProxy(u)
	var codes []int
	for i := range 3 {
		req := httptest.NewRequest("GET", "/crm/Leads", nil)
		req.RemoteAddr = "203.0.113.9:5555" // the same real client every time
		req.Header.Set("Forwarded", fmt.Sprintf("for=198.51.100.%d", i+1))
		rec := httptest.NewRecorder()
		proxy.ServeHTTP(rec, req)
		codes = append(codes, rec.Code)
	}
	assert.Equal(t, []int{http.StatusOK, http.StatusTooManyRequests, http.StatusTooManyRequests}, codes)
}

func TestShadowRoutesChecked(t *testing.T) {
	l, err := limiter.New(testPlan(10, 1, 1))
	require.NoError(t, err)
	_, err = New(okHandler(), l, testCosts(t), WithShadow("POST /crm/bulk", "GET /crm/{modul}"))
	require.ErrorIs(t, err, ErrBadOption)
	assert.Contains(t, err.Error(), `"GET /crm/{modul}"`, "the error names the unknown pattern")
	assert.NotContains(t, err.Error(), `"POST /crm/bulk"`)
	_, err = New(okHandler(), l, testCosts(t), WithShadow("", "POST /crm/bulk"))
	assert.NoError(t, err, `"" is the default route`)
	_, err = New(okHandler(), l, testCosts(t), WithShadowAll())
	assert.NoError(t, err)
}
