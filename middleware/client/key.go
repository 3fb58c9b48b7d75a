package client

import (
	"crypto/sha256"
	"encoding/binary"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/creditgate/creditgate/cost"
)

// key identifies a request for coalescing, caching and batching: a SHA-256
// digest, so that the cache holds no credentials and two requests that
// differ in them cannot meet on a collision.
type key [sha256.Size]byte

// credentialWords mark a header that carries credentials.
var credentialWords = []string{"auth", "key", "token", "secret", "session", "signature", "credential", "password", "cookie"}

// identityWords mark a header that names whom a call acts for, with the
// same credentials: an account (Stripe-Account), an organization
// (OpenAI-Organization, Zoho's X-CRM-ORG), a project, a tenant, a user (not
// User-Agent), someone on whose behalf or impersonated, or as whom (GitLab's
// Sudo), a context (Stripe-Context: the connected account), a business,
// company, customer, merchant, team or workspace (Sage's X-Business).
var identityWords = []string{"account", "org", "project", "tenant", "user", "behalf", "impersonat",
	"sudo", "context", "business", "company", "customer", "merchant", "team", "workspace"}

// keyHeader reports whether a header (lower case) goes into the key of a
// coalesced or cached request: it carries credentials, names whom the call
// acts for (not a tracing header: X-Cloud-Trace-Context says context but
// is new on every request), or changes the answer (Accept*, Range, Prefer,
// If-*, any header whose name says version: Stripe-Version,
// X-GitHub-Api-Version).
func (s *saver) keyHeader(lower string) bool {
	switch lower {
	case "accept", "accept-encoding", "accept-language", "range", "prefer":
		return true
	}
	if strings.HasPrefix(lower, "if-") || strings.HasPrefix(lower, "accept-") || strings.Contains(lower, "version") {
		return true // ... or the API version the answer is in
	}
	return s.credential(lower) || lower != "user-agent" && !strings.Contains(lower, "trace") && hasWord(lower, identityWords)
}

// credential reports whether a header (lower case) carries credentials:
// its name says so, or WithKeyHeaders names it.
func (s *saver) credential(lower string) bool {
	return hasWord(lower, credentialWords) || contains(s.headers, lower)
}

func hasWord(lower string, words []string) bool {
	for _, w := range words {
		if strings.Contains(lower, w) {
			return true
		}
	}
	return false
}

// laneIgnored are the headers a batch does not keep apart: they differ per
// request and say nothing about the write.
func laneIgnored(lower string) bool {
	switch lower {
	case "content-length", "user-agent", "traceparent", "tracestate", "baggage", "x-request-id",
		"x-correlation-id", "x-amzn-trace-id":
		return true
	}
	return strings.HasPrefix(lower, "x-b3-")
}

// requestKey digests r's method, host, URL and the headers pick selects
// (by lower-case name), sorted, then extra. Names that differ only in case
// (map keys net/http did not canonicalise) are sorted by their spelling,
// the order in which they are sent, so that their values' order counts.
func requestKey(r *http.Request, pick func(lower string) bool, extra ...string) key {
	b := make([]byte, 0, 512)
	b = field(b, r.Method)
	b = field(b, r.Host)
	b = field(b, r.URL.String())
	type named struct {
		lower, name string
		vs          []string
	}
	hs := make([]named, 0, len(r.Header))
	for name, vs := range r.Header {
		if l := strings.ToLower(name); pick(l) {
			hs = append(hs, named{l, name, vs})
		}
	}
	slices.SortFunc(hs, func(a, b named) int {
		if c := strings.Compare(a.lower, b.lower); c != 0 {
			return c
		}
		return strings.Compare(a.name, b.name)
	})
	for _, h := range hs {
		b = field(b, h.lower)
		b = binary.AppendUvarint(b, uint64(len(h.vs)))
		for _, v := range h.vs {
			b = field(b, v)
		}
	}
	for _, x := range extra {
		b = field(b, x)
	}
	return sha256.Sum256(b)
}

// field appends s with its length, so that no two lists of fields digest
// the same bytes.
func field(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

// moduleOf is the module a request names: its route's {module}, else its
// module query parameter (Zoho's metadata calls), else "".
func moduleOf(r *http.Request, p *cost.Price) string {
	if p.Module != "" {
		return p.Module
	}
	q := r.URL.RawQuery
	for q != "" {
		var kv string
		kv, q, _ = strings.Cut(q, "&")
		if k, v, _ := strings.Cut(kv, "="); k == "module" {
			if u, err := url.QueryUnescape(v); err == nil {
				return u
			}
			return v
		}
	}
	return ""
}

// root is a cached route's path, for the writes that invalidate it: a
// literal prefix, or segments ("" for a wildcard) when it has wildcards.
type root struct {
	prefix string   // the whole path when segs is nil
	segs   []string // nil: no wildcard
}

func newRoot(pattern string) root {
	p := pattern
	if i := strings.IndexAny(p, " \t"); i >= 0 {
		p = strings.TrimLeft(p[i:], " \t")
	}
	if i := strings.IndexByte(p, '/'); i >= 0 {
		p = p[i:] // no host
	}
	p = strings.TrimSuffix(p, "/")
	if !strings.Contains(p, "{") {
		return root{prefix: p}
	}
	var rt root
	for _, s := range strings.Split(strings.Trim(p, "/"), "/") {
		if strings.HasPrefix(s, "{") {
			if strings.HasSuffix(s, "...}") {
				break // matches whatever follows
			}
			s = ""
		}
		rt.segs = append(rt.segs, s)
	}
	return rt
}

// under reports whether path is the root's path or below it, without
// allocating.
func (rt root) under(path string) bool {
	if rt.segs == nil {
		return strings.HasPrefix(path, rt.prefix) && (len(path) == len(rt.prefix) || path[len(rt.prefix)] == '/')
	}
	i := 0
	if len(path) > 0 && path[0] == '/' {
		i = 1
	}
	for _, seg := range rt.segs {
		if i >= len(path) {
			return false
		}
		j := i + strings.IndexByte(path[i:], '/')
		if j < i {
			j = len(path)
		}
		if j == i || seg != "" && path[i:j] != seg {
			return false
		}
		i = j + 1
	}
	return true
}
