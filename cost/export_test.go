package cost

import (
	"net/http"
	"net/url"
)

// Test helpers over the matcher's internals.

// match returns the index of the route ServeMux.Handler serves r with, -1
// for none (404, 405 or any redirect), found by the matcher when the table
// has one: the differential tests hold it to ServeMux's own answer.
func (t *Table) match(r *http.Request) int {
	if t.m == nil || r.URL == nil || r.Method == http.MethodConnect {
		return t.muxMatch(r)
	}
	if i, _, st := t.fastView(r, new(pathCuts)); st&fastDone != 0 {
		if st&fastRedirect != 0 {
			return -1
		}
		return i
	}
	esc := r.URL.EscapedPath()
	if cleanPath(esc) != esc {
		return -1 // redirected to the clean path
	}
	s, trailing := splitClean(esc, true)
	var w walk
	if i, redirect := t.m.lookup(&w, r.Method, s, trailing); !redirect {
		return i
	}
	return -1
}

// fastPath reports whether the fast path (scanPath) takes u.
func fastPath(u *url.URL) bool {
	var c pathCuts
	return scanPath(u.Path, &c) && u.RawPath == ""
}
