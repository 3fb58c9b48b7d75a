package cost

import (
	"net/http"
	"net/url"
)

// A view is one reading of a request: the route it reaches (-1 for none)
// and its {module} segment.
type view struct {
	route  int
	module string
}

type views struct {
	v [1]view
	n int
}

// views reads r as ServeMux would: a path it would redirect reaches no route.
func (t *Table) views(r *http.Request, vs *views) {
	var segs [maxSegs]string
	i, n := t.route(r, &segs)
	vs.v[0], vs.n = view{route: i}, 1
	if i < 0 || t.routes[i].moduleSeg < 0 {
		return
	}
	rt := &t.routes[i]
	switch {
	case n >= 0: // split by the fast path
		if rt.moduleSeg < n {
			vs.v[0].module = segs[rt.moduleSeg]
		}
	case r.URL != nil:
		// As ServeMux: split the escaped path, then unescape the segment.
		// In the unescaped Path each %2F before it would shift the index.
		seg := pathSegment(r.URL.EscapedPath(), rt.moduleSeg)
		if u, err := url.PathUnescape(seg); err == nil {
			seg = u
		}
		vs.v[0].module = seg
	}
}

// route returns the index of r's route (-1 for none) and, when the compiled
// matcher found it, the number of path segments it split into segs (-1 when
// the ServeMux matched).
func (t *Table) route(r *http.Request, segs *[maxSegs]string) (int, int) {
	if t.m != nil && r.URL != nil && r.Method != http.MethodConnect {
		if n, trailing, ok := splitPath(r.URL, segs); ok {
			return t.m.lookup(r.Method, segs[:n], trailing), n
		}
	}
	return t.muxMatch(r), -1
}
