package middleware

import (
	"crypto/sha256"
	"crypto/subtle"
	"net/http"
	"strings"
)

// WithToken makes the dashboard require a token, and gives this one the
// operator's view: every tenant, a picker and the list of tenants by use.
// An API request carries a token as "Authorization: Bearer <token>" (the
// scheme in any case) or as ?token=<token> (a CSV download link). The page
// takes one typed in, or from its own ?token= once, and sends it in the
// header with no Referer. An empty token, such as an unset variable read
// with os.Getenv, locks the operator's view: no token opens it (tenant
// tokens still open theirs). A later WithToken replaces an earlier one. A
// dashboard given no token at all is open to anyone who reaches its mount
// point, with the operator's view.
func WithToken(token string) DashboardOption {
	return dashboardOptionFunc(func(c *dashboardConfig) {
		c.hasToken = true
		c.locked = token == ""
		c.tokenSum = sha256.Sum256([]byte(token))
	})
}

// WithTenantToken gives token the view of one tenant: its own usage, pool
// and alerts, no picker, and 403 for any other tenant. It can be given for
// many tenants; an empty token is ignored. It makes the dashboard require
// a token, as WithToken does. A tenant named usage.Other reads its pool
// and alerts but not the statistics (403): it shares them with every
// tenant folded past the statistics' tenant cap.
func WithTenantToken(tenant, token string) DashboardOption {
	return dashboardOptionFunc(func(c *dashboardConfig) {
		c.hasToken = true
		if token == "" {
			return
		}
		if c.tenantTokens == nil {
			c.tenantTokens = map[[32]byte]string{}
		}
		c.tenantTokens[sha256.Sum256([]byte(token))] = tenant
	})
}

// WithTenantTokens is WithTenantToken for tokens kept elsewhere (a
// database, say): tenantOf returns the tenant a token reads, ok false for
// an unknown token. It is asked only for a token that is not the
// operator's or a WithTenantToken's, never for an empty one, and may be
// called concurrently.
func WithTenantTokens(tenantOf func(token string) (tenant string, ok bool)) DashboardOption {
	return dashboardOptionFunc(func(c *dashboardConfig) {
		c.hasToken = true
		c.tenantOf = tenantOf
	})
}

// scope is what a request may read: every tenant, or one.
type scope struct {
	operator bool
	tenant   string // the one tenant a tenant token reads
}

// authorize returns the scope of r's token; ok is false for none.
func (d *dashboard) authorize(r *http.Request) (s scope, ok bool) {
	if !d.cfg.hasToken {
		return scope{operator: true}, true
	}
	tok, ok := bearerToken(r.Header.Get("Authorization"))
	if !ok {
		tok = r.URL.Query().Get("token")
	}
	if tok == "" {
		return scope{}, false
	}
	// Comparing fixed-size digests keeps the time independent of the token's
	// length as well as its content. The tenant tokens are found by their
	// digest: a lookup's timing tells about the digest, not the token.
	sum := sha256.Sum256([]byte(tok))
	if !d.cfg.locked && subtle.ConstantTimeCompare(sum[:], d.cfg.tokenSum[:]) == 1 {
		return scope{operator: true}, true
	}
	if tenant, found := d.cfg.tenantTokens[sum]; found {
		return scope{tenant: tenant}, true
	}
	if d.cfg.tenantOf != nil {
		if tenant, found := d.cfg.tenantOf(tok); found {
			return scope{tenant: tenant}, true
		}
	}
	return scope{}, false
}

// bearerToken returns the token of an Authorization value of the Bearer
// scheme, whose name is case-insensitive and followed by one or more spaces
// (RFC 9110, section 11.4; RFC 6750, section 2.1).
func bearerToken(auth string) (string, bool) {
	scheme, tok, ok := strings.Cut(auth, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	return strings.TrimLeft(tok, " "), true
}
