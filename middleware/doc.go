// Package middleware adapts package limiter to net/http: an http.Handler that
// enforces credit limits on the server side.
package middleware
