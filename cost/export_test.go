package cost

import (
	"net/http"
	"net/url"
)

// Test helpers over the matcher's internals.

// match returns the index of r's route, -1 for none.
func (t *Table) match(r *http.Request) int {
	var segs [maxSegs]string
	i, _ := t.route(r, &segs)
	return i
}

// fastPath reports whether splitPath accepts u.
func fastPath(u *url.URL) bool {
	var segs [maxSegs]string
	_, _, ok := splitPath(u, &segs)
	return ok
}
