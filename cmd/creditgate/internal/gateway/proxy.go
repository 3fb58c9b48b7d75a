package gateway

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"net/textproto"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/creditgate/creditgate/cmd/creditgate/internal/config"
	"github.com/creditgate/creditgate/cost"
	"github.com/creditgate/creditgate/middleware"
)

// NewTransport returns the transport to the upstream: Go's default one with
// the configured timeouts and enough idle connections per host for a
// gateway's concurrency (the default keeps 2, so a busy proxy would open and
// close a connection for most requests). The bare proxy of the load test
// uses it too, so that the two differ only by the limiter.
func NewTransport(t config.Timeouts) *http.Transport {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.DialContext = (&net.Dialer{Timeout: t.UpstreamDial, KeepAlive: 30 * time.Second}).DialContext
	tr.ResponseHeaderTimeout = t.UpstreamHeader
	tr.MaxIdleConns = 1024
	tr.MaxIdleConnsPerHost = 1024
	tr.IdleConnTimeout = 90 * time.Second
	return tr
}

// NewProxy returns a reverse proxy to upstream over tr. It sets the
// X-Forwarded-* headers to what this hop sees: X-Forwarded-For names the
// peer alone, as ReverseProxy drops one the request came with (a client
// can write any chain; its doc said the peer was appended to it, which
// reviewer-87 found it never was), and answers 502 with a JSON body when the upstream cannot be reached,
// 504 when it did not answer in time; onError, if not nil, counts both. A
// call whose client went away first ends with 499 and is not counted.
func NewProxy(upstream *url.URL, tr http.RoundTripper, log *slog.Logger, onError func()) *httputil.ReverseProxy {
	return &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(upstream)
			pr.SetXForwarded()
			dropOverrideAliases(pr.Out.Header)
		},
		Transport:  tr,
		BufferPool: &buffers,
		ErrorLog:   slog.NewLogLogger(log.Handler(), slog.LevelWarn),
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			if r.Context().Err() != nil && context.Cause(r.Context()) != errWriteTimeout {
				// The client went away (its request's context ended), not
				// the upstream: nothing to count or warn of. The status
				// (nginx's 499, which no client reads) is below 500, so
				// the call is charged: the upstream got it and may do the
				// work, and a client must not get slow calls free by
				// hanging up before their answer.
				log.LogAttrs(r.Context(), slog.LevelDebug, "client went away before the upstream answered",
					slog.String("method", r.Method), slog.String("path", r.URL.Path))
				w.WriteHeader(statusClientClosed)
				return
			}
			if onError != nil {
				onError()
			}
			log.LogAttrs(r.Context(), slog.LevelWarn, "upstream error",
				slog.String("method", r.Method), slog.String("path", r.URL.Path), slog.String("error", err.Error()))
			w.Header().Set("Content-Type", "application/json; charset=utf-8")
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() || context.Cause(r.Context()) == errWriteTimeout {
				// Reached, but no answer within timeouts.upstream_header
				// (or the dial's): a gateway timeout.
				w.WriteHeader(http.StatusGatewayTimeout)
				_, _ = w.Write([]byte(`{"code":"UPSTREAM_TIMEOUT","details":{},"message":"the upstream server did not answer in time","status":"error"}` + "\n"))
				return
			}
			w.WriteHeader(http.StatusBadGateway)
			_, _ = w.Write([]byte(`{"code":"UPSTREAM_ERROR","details":{},"message":"the upstream server could not be reached","status":"error"}` + "\n"))
		},
	}
}

// errWriteTimeout ends a proxied call at timeouts.write.
var errWriteTimeout = errors.New("gateway: the call outlived timeouts.write")

// writeTimerKey is the context key of the timer that ends an upgrade
// request at timeouts.write unless the upstream switches protocols.
type writeTimerKey struct{}

// keepUpgrade is a ModifyResponse that stops the timeouts.write timer of an
// upgrade request the upstream answers 101, then runs next (if not nil).
func keepUpgrade(next func(*http.Response) error) func(*http.Response) error {
	return func(res *http.Response) error {
		if res.StatusCode == http.StatusSwitchingProtocols && res.Request != nil {
			if t, ok := res.Request.Context().Value(writeTimerKey{}).(*time.Timer); ok {
				t.Stop()
			}
		}
		if next != nil {
			return next(res)
		}
		return nil
	}
}

// isUpgrade reports whether h asks for a protocol upgrade (Connection:
// upgrade, with an Upgrade header), as ReverseProxy reads it.
func isUpgrade(h http.Header) bool {
	if h.Get("Upgrade") == "" {
		return false
	}
	for _, v := range h["Connection"] {
		for _, tok := range strings.Split(v, ",") {
			if strings.EqualFold(strings.TrimSpace(tok), "upgrade") {
				return true
			}
		}
	}
	return false
}

// statusClientClosed is what a call whose client went away before the
// upstream answered ends with: nginx's 499 Client Closed Request.
const statusClientClosed = 499

// buffers are the proxies' copy buffers: without a pool, each response
// allocates 32 KiB.
var buffers bufferPool

type bufferPool struct{ p sync.Pool }

func (b *bufferPool) Get() []byte {
	if buf, ok := b.p.Get().(*[]byte); ok {
		return *buf
	}
	return make([]byte, 32<<10)
}

func (b *bufferPool) Put(buf []byte) { b.p.Put(&buf) }

// proxyTo proxies to upstream over l's transport. upstream, not l.upstream:
// a link kept over a reload serves the same scheme and host, but the path
// and query may have changed. With a tenant header (name, read by tenant),
// the upstream gets it as the gateway resolved it (forwardTenant).
func (g *Gateway) proxyTo(upstream *url.URL, l *link, name string, tenant middleware.KeyFunc) http.Handler {
	if upstream == nil {
		return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			http.Error(w, "no upstream configured", http.StatusBadGateway)
		})
	}
	plain := NewProxy(upstream, l.tr, g.log, g.m.upstream.Inc)
	own := NewProxy(upstream, l.tr, g.log, g.m.upstream.Inc)
	own.ModifyResponse = keepUpgrade(dropLimitHeaders)
	plain.ModifyResponse = keepUpgrade(nil)
	if name != "" {
		forwardTenant(plain, name, tenant)
		forwardTenant(own, name, tenant)
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if g.write > 0 {
			// Past timeouts.write the server fails every write to the
			// client, but a proxy waiting on an upstream that sent its
			// header and then hangs makes none, and held the call and
			// its slot for as long as the upstream hung. An upgraded
			// connection (a WebSocket) lives as long as it is used:
			// the upstream's 101 stops the timer (keepUpgrade), not the
			// request's headers, which any client may send with an
			// ordinary call.
			ctx, cancel := context.WithCancelCause(r.Context())
			defer cancel(nil)
			t := time.AfterFunc(g.write, func() { cancel(errWriteTimeout) })
			defer t.Stop()
			if isUpgrade(r.Header) {
				ctx = context.WithValue(ctx, writeTimerKey{}, t)
			}
			r = r.WithContext(ctx)
		}
		if setsLimitHeaders(w.Header()) {
			own.ServeHTTP(w, r)
			return
		}
		plain.ServeHTTP(w, r) // no figures of its own (shadow, a store out of reach): the upstream's pass
	})
}

// forwardTenant makes p send the tenant header name to the upstream as the
// gateway resolved it (tenant, the middleware's key): one line, the tenant
// it charged, or none when it charged none from the header (a peer it does
// not trust, an empty value). Never the client's lines as they came: an
// upstream that reads another line than the gateway did (the first, where
// a trusted proxy's is the last), or a value from a peer the gateway does
// not believe, would serve one tenant on another's credits. Kong's
// authentication plugins likewise set their X-Consumer-* headers or clear
// them, and Envoy strips its own from requests of untrusted peers.
func forwardTenant(p *httputil.ReverseProxy, name string, tenant middleware.KeyFunc) {
	key := textproto.CanonicalMIMEHeaderKey(name)
	rewrite := p.Rewrite
	p.Rewrite = func(pr *httputil.ProxyRequest) {
		rewrite(pr)
		setTenant(pr.Out.Header, key, tenant(pr.In))
		dropAliases(pr.Out.Header, key)
	}
}

// dropAliases removes from h every line whose name is not key but reads as
// key with underscores for dashes, ignoring case (X_Org for X-Org; Go's
// server keeps it apart, as X_org): upstreams that read headers as CGI
// variables (HTTP_X_ORG: WSGI, Rack, PHP) take it for the tenant header,
// which the gateway did not charge from. nginx (underscores_in_headers off)
// and Envoy (headers_with_underscores_action) drop such names alike. A
// walk of h's names, compared only when as long as key: no allocation.
func dropAliases(h http.Header, key string) {
	for k := range h {
		if len(k) == len(key) && k != key && aliasOf(k, key) {
			delete(h, k)
		}
	}
}

// dropOverrideAliases removes from h every line whose name is not a method
// override header's but reads as one with underscores for dashes, ignoring
// case (X_HTTP_Method for X-HTTP-Method; Go's server keeps it apart, as
// X_http_method): the cost table reads the dashed names only, and a
// CGI-style upstream (HTTP_X_HTTP_METHOD: Rack, PHP) ran the request as
// the method such a line names, as dearer as it may be. A walk of h's
// names, compared only when as long as an override header's: no allocation.
func dropOverrideAliases(h http.Header) {
	names := cost.OverrideHeaders()
	for k := range h {
		for _, o := range names {
			if len(k) == len(o) && k != o && aliasOf(k, o) {
				delete(h, k)
				break
			}
		}
	}
}

// aliasOf reports whether a and b, as long as each other, are equal with
// '_' read as '-' and ASCII case ignored.
func aliasOf(a, b string) bool {
	for i := 0; i < len(a); i++ {
		if cgiFold(a[i]) != cgiFold(b[i]) {
			return false
		}
	}
	return true
}

func cgiFold(c byte) byte {
	switch {
	case c == '_':
		return '-'
	case 'A' <= c && c <= 'Z':
		return c + 'a' - 'A'
	}
	return c
}

// setTenant leaves h, the outbound request's own copy of the header, with
// one line of key, v, or none if v is "". A request that has that line
// alone (the usual one) is left as it is, and a line kept is a slice of
// h's own: no allocation.
func setTenant(h http.Header, key, v string) {
	vs := h[key]
	switch {
	case v == "":
		delete(h, key)
	case len(vs) == 1 && vs[0] == v:
	default:
		for i, x := range vs {
			if x == v {
				h[key] = vs[i : i+1 : i+1] // capped: an append copies
				return
			}
		}
		h[key] = []string{v}
	}
}

// limitHeaders are the fields the middleware describes a pool with
// (Retry-After is not one: an upstream's 429 or 503 means it).
var limitHeaders = [...]string{
	http.CanonicalHeaderKey(middleware.HeaderLimit), http.CanonicalHeaderKey(middleware.HeaderRemaining),
	http.CanonicalHeaderKey(middleware.HeaderReset), http.CanonicalHeaderKey(middleware.HeaderCreditsRemaining),
	http.CanonicalHeaderKey(middleware.HeaderRateLimitPolicy), http.CanonicalHeaderKey(middleware.HeaderRateLimit),
}

// setsLimitHeaders reports whether the gateway described its pool in h.
func setsLimitHeaders(h http.Header) bool {
	for _, k := range limitHeaders {
		if _, ok := h[k]; ok {
			return true
		}
	}
	return false
}

// dropLimitHeaders removes an upstream's own limit fields from its answer,
// when the gateway has set its own: a proxy adds the upstream's beside
// them, and a client given two values of a field drops it, or reads the
// upstream account's figures as its pool at the gateway.
func dropLimitHeaders(r *http.Response) error {
	for _, k := range limitHeaders {
		delete(r.Header, k)
	}
	return nil
}

// timedWriter carries a request's arrival time to the admitted handler,
// which finds it by unwrapping its ResponseWriter, so that the decision's
// latency is measured without a context value (which would copy the
// request). Pooled: one per request in flight.
type timedWriter struct {
	http.ResponseWriter
	start   time.Time
	decided bool // the admitted handler observed the latency
}

// Unwrap lets http.ResponseController and the middleware reach the writer
// underneath (Flush, Hijack, deadlines).
func (w *timedWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

var timedPool = sync.Pool{New: func() any { return new(timedWriter) }}

// findTimed unwraps w down to the gateway's timedWriter.
func findTimed(w http.ResponseWriter) *timedWriter {
	for i := 0; i < 8 && w != nil; i++ {
		if tw, ok := w.(*timedWriter); ok {
			return tw
		}
		u, ok := w.(interface{ Unwrap() http.ResponseWriter })
		if !ok {
			return nil
		}
		w = u.Unwrap()
	}
	return nil
}

// ServeHTTP serves one request with the current configuration's handler.
// A request the middleware answers itself (a refusal, an unpriceable body)
// has its decision timed here.
func (g *Gateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b := g.enter()
	defer b.link.active.Add(-1)
	tw := timedPool.Get().(*timedWriter)
	tw.ResponseWriter, tw.start, tw.decided = w, time.Now(), false
	b.h.ServeHTTP(tw, r)
	if !tw.decided {
		g.m.decision.Observe(time.Since(tw.start).Seconds())
	}
	tw.ResponseWriter = nil
	timedPool.Put(tw)
}
