package middleware

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"log/slog"
	"net/http"
	"unicode/utf8"
)

// KeyFunc names one party of a request: its tenant (the pool owner), its
// application (client id), its user, or its client IP. It must be safe for
// concurrent use and should not allocate: it runs on every request. Its result
// is bounded by [WithMaxKeyBytes].
type KeyFunc func(r *http.Request) string

// Identity is who a request comes from, as established by the authentication
// in front of this middleware. Put it in the request context with
// [ContextWithIdentity]; the default key functions read it first.
type Identity struct {
	Tenant string // the organisation whose credit pool pays, e.g. a Zoho org id
	App    string // the client application, e.g. an OAuth client id
	User   string // the end user on whose behalf the app calls
}

type identityKey struct{}

// ContextWithIdentity returns a copy of ctx carrying id, for an authentication
// middleware placed before this one.
func ContextWithIdentity(ctx context.Context, id Identity) context.Context {
	return context.WithValue(ctx, identityKey{}, id)
}

// IdentityFromContext returns the Identity stored by [ContextWithIdentity].
func IdentityFromContext(ctx context.Context) (Identity, bool) {
	id, ok := ctx.Value(identityKey{}).(Identity)
	return id, ok
}

// Default header names read by the default application and user keys.
const (
	HeaderClientID = "X-Client-Id"
	HeaderUserID   = "X-User-Id"
)

// FromHeader returns a KeyFunc that reads the first value of the named header
// ("" when absent). Use it for the tenant only when an authenticating proxy in
// front of the server sets and overwrites that header: a client that can choose
// its tenant can choose a fresh credit pool.
func FromHeader(name string) KeyFunc {
	key := http.CanonicalHeaderKey(name)
	return func(r *http.Request) string {
		if v := r.Header[key]; len(v) > 0 {
			return v[0]
		}
		return ""
	}
}

// DefaultTenant is the tenant key used when none is configured: the Tenant of
// the context [Identity], else "" (one pool for everyone). It deliberately does
// not read a request header such as X-Tenant: the tenant decides which pool
// pays, and a header is whatever the client says (see [FromHeader]).
func DefaultTenant(r *http.Request) string {
	id, _ := IdentityFromContext(r.Context())
	return id.Tenant
}

var (
	clientIDHeader = FromHeader(HeaderClientID)
	userIDHeader   = FromHeader(HeaderUserID)
)

// DefaultApp is the application key used when none is configured: the App of
// the context [Identity], else the X-Client-Id header, else "". A client that
// lies in X-Client-Id moves itself to another concurrency cap but still spends
// its tenant's credits.
func DefaultApp(r *http.Request) string {
	id, _ := IdentityFromContext(r.Context())
	return appOf(r, &id)
}

func appOf(r *http.Request, id *Identity) string {
	if id.App != "" {
		return id.App
	}
	return clientIDHeader(r)
}

// DefaultUser is the user key used when none is configured: the User of the
// context [Identity], else the X-User-Id header, else "". Users only appear in
// usage statistics.
func DefaultUser(r *http.Request) string {
	id, _ := IdentityFromContext(r.Context())
	return userOf(r, &id)
}

func userOf(r *http.Request, id *Identity) string {
	if id.User != "" {
		return id.User
	}
	return userIDHeader(r)
}

// Which of Keys' Tenant, App and User are the defaults (config.defaultKeys).
const (
	defaultTenantKey = 1 << iota
	defaultAppKey
	defaultUserKey
)

// parties runs the tenant, application and (withUser) user keys. Those that
// are the defaults share one lookup of the context Identity, which walks the
// whole context chain (three or four links under net/http's server).
func (c *config) parties(r *http.Request, withUser bool) (tenant, app, user string) {
	var id Identity
	if c.defaultKeys != 0 {
		id, _ = IdentityFromContext(r.Context())
	}
	if c.defaultKeys&defaultTenantKey != 0 {
		tenant = id.Tenant
	} else {
		tenant = c.keys.Tenant(r)
	}
	if c.defaultKeys&defaultAppKey != 0 {
		app = appOf(r, &id)
	} else {
		app = c.keys.App(r)
	}
	switch {
	case !withUser:
	case c.defaultKeys&defaultUserKey != 0:
		user = userOf(r, &id)
	default:
		user = c.keys.User(r)
	}
	return tenant, app, user
}

// minKeyBytes leaves a shortened key a readable prefix of 31 bytes or more.
const minKeyBytes = 64

// shortKey returns s, or hashKey(s) if s is longer than the limit. Small
// enough to inline: the hot path only compares a length.
func (c *config) shortKey(s string) string {
	if len(s) <= c.maxKey {
		return s
	}
	return hashKey(s, c.maxKey)
}

// hashKey shortens s to n bytes: a prefix of s cut at a rune boundary, "~"
// and the first 16 bytes of its SHA-256 in hex. Distinct keys stay distinct
// unless 128 bits collide; the prefix keeps the key recognisable on a
// dashboard.
func hashKey(s string, n int) string {
	sum := sha256.Sum256([]byte(s))
	cut := n - 1 - 2*16
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "~" + hex.EncodeToString(sum[:16])
}

// keyTooLong refuses a request whose tenant (else application) key is over
// the limit, or passes it on unmetered in shadow mode, as an unpriceable one.
func (h *handler) keyTooLong(w http.ResponseWriter, r *http.Request, pattern string, tenant bool) {
	cfg := h.cfg
	if cs := cfg.counters; cs != nil {
		cs.KeyErrors.Add(1)
	}
	which, detail := "app", "the application key is longer than the server accepts"
	if tenant {
		which, detail = "tenant", "the tenant key is longer than the server accepts"
	}
	if cfg.logger != nil {
		// The key itself is not logged: it is long, and the client's.
		cfg.logger.LogAttrs(r.Context(), slog.LevelInfo, "middleware: key too long",
			slog.String("key", which), slog.String("route", pattern))
	}
	if cfg.shadowAll || cfg.shadow[pattern] {
		h.next.ServeHTTP(w, r)
		return
	}
	writeFailure(w, cfg.bodies, Failure{Status: http.StatusBadRequest, By: ByKey,
		Limit: int64(cfg.maxKey), Detail: detail})
}
