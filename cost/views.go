package cost

import (
	"errors"
	"net"
	"net/http"
	"net/url"
	"path"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Routers disagree on where some requests go. ServeMux redirects an unclean
// path (/a//b, /a/./b, /a/../b) to its clean form, while a gateway in front
// of a backend that cleans paths itself sees the request reach the clean
// route; a backend that unescapes before routing reads %2F as a separator
// and %2E%2E as "..", and one that routes case-insensitively, ignores a
// trailing slash or trailing dots (Express, ASP.NET, IIS, virtual hosts for
// the host name) reaches routes ServeMux would not. The table reads each
// request the ways that differ (views) and prices it at the highest.

// maxViews bounds the readings of one request: ServeMux's (on the cleaned
// path), an unescaping backend's, and a loose one, for its method, for its
// method in capitals (lowerMethod) and for each method its override
// headers and _method parameter name (maxOverrideMethods).
const maxViews = 3 * (2 + maxOverrideMethods)

// A view is one reading of a request: the route it reaches (-1 for none)
// and its {module} segment.
type view struct {
	route  int
	module string
}

type views struct {
	v       [maxViews]view
	n       int
	unclean bool // not in the form of the route ServeMux serves, or readings differ
	// ambiguous: override headers name more methods than r is read as
	// (ErrAmbiguousMethod); the readings are then not all there.
	ambiguous bool
}

// add records a reading, once per route.
func (vs *views) add(route int, module string) {
	for k := 0; k < vs.n; k++ {
		if vs.v[k].route == route {
			return
		}
	}
	if vs.n > 0 {
		vs.unclean = true // another router reaches another route
	}
	if vs.n < maxViews {
		vs.v[vs.n] = view{route: route, module: module}
		vs.n++
	}
}

// views reads r, given what fastView found (and left in c). A clean,
// plainly spelled path (nearly every request) takes fastView's walk, and a
// loose one only when a segment missed a literal but for case or the path
// ends in a slash.
func (t *Table) views(r *http.Request, vs *views, c *pathCuts, route int, module string, st int) {
	t.pathViews(r, vs, c, route, module, st)
	if st&fastOverride != 0 || st&fastDone == 0 && overridden(r) {
		t.overrideViews(r, vs)
	}
}

// pathViews adds the readings of r's path as its own method (views
// without the override readings).
func (t *Table) pathViews(r *http.Request, vs *views, c *pathCuts, route int, module string, st int) {
	switch {
	case st&fastDone != 0:
		vs.add(route, module)
		vs.unclean = st&fastRedirect != 0
		if st&fastLoose != 0 {
			var segs [maxSegs]string
			t.looseView(r.Method, c.segs(&segs), vs)
		}
	case t.m == nil || r.URL == nil || r.Method == http.MethodConnect:
		t.muxViews(r, vs)
	default:
		t.slowViews(r, vs)
	}
}

// overridden reports whether r may run as another method than it is sent
// as: it has a method override header, a method in lower case, or is a
// POST with a _method parameter.
func overridden(r *http.Request) bool {
	return len(r.Header) > 0 && hasOverride(r.Header) || lowerMethod(r.Method) || paramOverride(r)
}

// lowerMethod reports whether method has lower-case ASCII letters: ServeMux
// matches methods as sent, but Django and Flask (Werkzeug) upper-case the
// request's method and ASP.NET Core compares methods ignoring case, so a
// backend may run "post" as POST; overrideViews reads it as both.
func lowerMethod(method string) bool {
	for i := 0; i < len(method); i++ {
		if 'a' <= method[i] && method[i] <= 'z' {
			return true
		}
	}
	return false
}

// ErrAmbiguousMethod is the error for a request whose method override
// headers and _method parameter name more methods than it is read as
// (maxOverrideMethods): which one a server runs is unknown, and reading
// them all is unbounded work.
var ErrAmbiguousMethod = errors.New("cost: method override headers name too many methods")

// maxOverrideMethods bounds the methods a request's override headers and
// _method parameter may name, besides its own: one per header, and one
// for the parameter if it has one.
const maxOverrideMethods = len(overrideHeaders) + 1

// overrideHeaders name the method a request acts as, for servers that
// honour them (canonical keys); OverrideMethod reads them for others.
var overrideHeaders = [...]string{"X-Http-Method-Override", "X-Http-Method", "X-Method-Override"}

// OverrideHeaders returns the method override headers the table reads
// (OverrideMethods), in canonical form: a proxy in front of a server that
// reads other spellings of them (CGI's underscores) drops those, so that
// the server runs a request as no method the table did not price.
func OverrideHeaders() [len(overrideHeaders)]string { return overrideHeaders }

// OverrideMethod returns the method that r's first method-override header
// (X-HTTP-Method-Override, X-HTTP-Method, X-Method-Override) names on its
// first line, trimmed and in capitals, or "" if it has none: the method
// most servers that honour the header run r as. Others read another line
// or header, so Lookup prices every one of them (OverrideMethods), and a
// reader that must know whether r may write should too.
func OverrideMethod(r *http.Request) string {
	for _, k := range overrideHeaders {
		if vs := r.Header[k]; len(vs) > 0 {
			return strings.ToUpper(strings.TrimSpace(vs[0]))
		}
	}
	return ""
}

// hasOverride reports whether h has a method override header.
func hasOverride(h http.Header) bool {
	for i := range overrideHeaders { // not a copy of the array
		if len(h[overrideHeaders[i]]) > 0 {
			return true
		}
	}
	return false
}

// OverrideMethods calls yield with each method r's method-override headers
// name (every element of every line of each of X-HTTP-Method-Override,
// X-HTTP-Method and X-Method-Override, in that order; trimmed and in
// capitals, "" kept), until yield returns false: a server may honour any
// of them (the last line, say, or the first element of the lines joined
// with commas, as Node's http and express's method-override read them), so
// a reader that decides by the method, as the cost table and the client's
// cache do, reads them all. The _method query parameter, which the table
// also reads for a POST, is not yielded: the readers of these (the
// client's cache and retries) take a POST for a write already.
func OverrideMethods(r *http.Request, yield func(method string) bool) {
	overrideElems(r, func(e string) bool { return yield(strings.ToUpper(e)) })
}

// overrideElems calls yield with each trimmed element of every line of r's
// method override headers, as sent (OverrideMethods upper-cases them).
func overrideElems(r *http.Request, yield func(elem string) bool) {
	for _, k := range overrideHeaders {
		for _, v := range r.Header[k] {
			for {
				e, rest, more := strings.Cut(v, ",")
				if !yield(strings.TrimSpace(e)) {
					return
				}
				if !more {
					break
				}
				v = rest
			}
		}
	}
}

// paramOverride reports whether r is a POST (in any case, as Symfony
// reads it) whose query has a _method parameter (methodParams).
func paramOverride(r *http.Request) bool {
	return r.URL != nil && r.URL.RawQuery != "" && upperIs(r.Method, http.MethodPost) && hasMethodParam(r.URL.RawQuery)
}

// hasMethodParam reports whether the query raw has a _method parameter
// that names a method (methodParams). A query without "method" and without
// escapes has none, and is not split into pairs.
func hasMethodParam(raw string) bool {
	if !strings.Contains(raw, "method") && strings.IndexByte(raw, '%') < 0 {
		return false
	}
	found := false
	methodParams(raw, func(string) bool {
		found = true
		return false
	})
	return found
}

// methodParams calls yield with the value of each _method pair of the
// query raw, unescaped and trimmed ("" skipped), until yield returns false:
// Symfony and Laravel (http_method_parameter_override, which Laravel turns
// on) run a POST as the method its _method names, the last one, and
// express's method-override('_method') as the first. Pairs are split at
// '&' and at ';' (which some parsers take for a separator too). Keys are
// unescaped as url.ParseQuery does, then read as PHP names them: cut at a
// NUL ("%00"), leading spaces dropped, and a '.' or an unclosed '[' for the
// '_' (".method" and "_method%00x" are $_GET['_method']). A key or value that does not unescape names no method:
// PHP's and Node's lenient decoders keep its '%', which no method they run
// has. A form body's _method (which Symfony and Rails read too) is not read.
func methodParams(raw string, yield func(v string) bool) {
	for raw != "" {
		kv := raw
		if i := strings.IndexAny(raw, "&;"); i >= 0 {
			kv, raw = raw[:i], raw[i+1:]
		} else {
			raw = ""
		}
		k, v, _ := strings.Cut(kv, "=")
		if !methodKey(k) {
			continue
		}
		v, err := url.QueryUnescape(v)
		if v = strings.TrimSpace(v); err == nil && v != "" && !yield(v) {
			return
		}
	}
}

// methodKey reports whether the query key k (escaped) names _method
// (methodParams).
func methodKey(k string) bool {
	// PHP ends a name at its first NUL: php_url_decode makes "%00" one in
	// place, and php_register_variable_ex takes the name's strlen, so
	// "_method%00x" is $_GET['_method']. Every "%00" of a raw key is a NUL
	// to PHP (no escape can take its '%'), and what precedes it decodes alone.
	if i := strings.Index(k, "%00"); i >= 0 {
		k = k[:i]
	}
	if strings.IndexAny(k, "%+") >= 0 {
		u, err := url.QueryUnescape(k)
		if err != nil {
			return false
		}
		k = u
	}
	k = strings.TrimLeft(k, " ")
	return len(k) == len("_method") && k[1:] == "method" && (k[0] == '_' || k[0] == '.' || k[0] == '[')
}

// upperIs reports whether strings.ToUpper(s) == up, without allocating.
func upperIs(s, up string) bool {
	for _, c := range s {
		u := unicode.ToUpper(c)
		if u < utf8.RuneSelf {
			if up == "" || up[0] != byte(u) {
				return false
			}
			up = up[1:]
			continue
		}
		c2, n := utf8.DecodeRuneInString(up)
		if c2 != u || c2 == utf8.RuneError && n <= 1 { // up ended, or a byte ToUpper would write as U+FFFD
			return false
		}
		up = up[n:]
	}
	return up == ""
}

// overrideViews adds the readings of r as each method its override headers
// name (OverrideMethods), and, for a POST, its _method parameter
// (methodParams), for servers that run a request as that method; more
// than maxOverrideMethods of them make r ambiguous (ErrAmbiguousMethod).
// A method with lower-case letters is also read in capitals (lowerMethod).
// The elements are compared with the methods read so far before they are
// upper-cased: a header of thousands of repeats allocates only for the
// distinct methods.
func (t *Table) overrideViews(r *http.Request, vs *views) {
	var seen [maxOverrideMethods + 1]string
	n, limit := 0, len(overrideHeaders) // one per header
	param := paramOverride(r)
	if param {
		limit++ // and one for the parameter
	}
	if lowerMethod(r.Method) {
		seen[0], n, limit = strings.ToUpper(r.Method), 1, limit+1
	}
	read := func(e string) bool {
		if e == "" || upperIs(e, r.Method) {
			return true
		}
		for _, s := range seen[:n] {
			if upperIs(e, s) {
				return true
			}
		}
		if n == limit {
			vs.ambiguous = true
			return false
		}
		seen[n] = strings.ToUpper(e)
		n++
		return true
	}
	overrideElems(r, read)
	if !vs.ambiguous && param {
		methodParams(r.URL.RawQuery, read)
	}
	if vs.ambiguous {
		return
	}
	for _, m := range seen[:n] {
		// The copy's readings are its method's alone (pathViews).
		r2 := &http.Request{Method: m, Host: r.Host, URL: r.URL}
		var c pathCuts
		i, module, st := t.fastView(r2, &c)
		var vs2 views
		t.pathViews(r2, &vs2, &c, i, module, st)
		for j := 0; j < vs2.n; j++ {
			vs.add(vs2.v[j].route, vs2.v[j].module)
		}
		vs.unclean = vs.unclean || vs2.unclean
	}
}

// slowViews reads a path that needs cleaning or unescaping with the matcher:
// as ServeMux would once it has cleaned it, as an unescaping backend would
// when it has escapes, and loosely when that may differ.
func (t *Table) slowViews(r *http.Request, vs *views) {
	esc := r.URL.EscapedPath()
	clean := cleanPath(esc)
	segs, trailing := splitClean(clean, true)
	var w walk
	i, redirect := t.m.lookup(&w, r.Method, segs, trailing)
	vs.add(i, t.module(i, segs))
	vs.unclean = redirect || clean != esc
	if r.URL.RawPath != "" {
		up := cleanPath(r.URL.Path)
		usegs, utrailing := splitClean(up, false)
		if up != r.URL.Path || len(usegs) != len(segs) {
			vs.unclean = true // an escaped slash or dot segment
		}
		j, _ := t.m.lookup(&w, r.Method, usegs, utrailing)
		vs.add(j, t.module(j, usegs))
		segs, trailing = usegs, utrailing
	}
	if w.foldMiss || t.m.foldTwins || trailing && len(segs) > 0 || dotted(segs) {
		t.looseView(r.Method, segs, vs)
	}
}

// looseView adds the reading of a router that ignores ASCII case (and
// Java's few non-ASCII twins of ASCII letters, javaFold), trailing dots, a
// trailing slash and path parameters (";jsessionid=x": Java servlet
// containers and Spring drop them from each segment, then normalize), and
// takes a backslash for a slash (looseSegs).
func (t *Table) looseView(method string, segs []string, vs *views) {
	var buf [maxSegs]string
	loose := looseSegs(buf[:0], segs, t.m.depth+1)
	w := walk{fold: true}
	i, _ := t.m.lookup(&w, method, loose, false)
	vs.add(i, t.module(i, loose))
}

// muxViews reads r with the ServeMux, for the tables the matcher does not
// handle (host patterns, GODEBUG=httpmuxgo121) and CONNECT requests, with
// the same readings as the matcher's; the loose one is made by the
// matchers of t.hosts, and without them (GODEBUG=httpmuxgo121) by the
// ServeMux, which cannot fold case.
func (t *Table) muxViews(r *http.Request, vs *views) {
	i := t.muxMatch(r)
	if r.URL == nil || r.Method == http.MethodConnect {
		vs.add(i, t.muxModule(i, r.URL))
		return
	}
	esc := r.URL.EscapedPath()
	clean := cleanPath(esc)
	u := r.URL
	if clean != esc {
		// ServeMux redirects to the clean path: price the route it reaches.
		u = &url.URL{Path: unescapePath(clean), RawPath: clean}
		i, vs.unclean = t.muxMatch(withURL(r, r.Host, u)), true
	}
	if i < 0 && !strings.HasSuffix(clean, "/") {
		// Perhaps a redirect from /tree to /tree/.
		u2 := &url.URL{Path: unescapePath(clean) + "/", RawPath: clean + "/"}
		if j := t.muxMatch(withURL(r, r.Host, u2)); j >= 0 {
			i, u, vs.unclean = j, u2, true
		}
	}
	vs.add(i, t.muxModule(i, u))
	p := cleanPath(r.URL.Path)
	if r.URL.RawPath != "" {
		u := &url.URL{Path: p}
		j := t.muxMatch(withURL(r, r.Host, u))
		vs.add(j, t.muxModule(j, u))
		vs.unclean = vs.unclean || p != r.URL.Path
	}
	host := strings.ToLower(strings.TrimSuffix(stripPort(r.Host), "."))
	if t.hosts != nil {
		// The loose reading, case-insensitive too: by the matchers of the
		// host's patterns, then of those without a host, as ServeMux
		// tries them.
		var buf [maxSegs]string
		loose := looseSegsPath(buf[:0], p, t.hostsDepth+1)
		j := -1
		if m := t.hosts[host]; m != nil && host != "" {
			w := walk{fold: true}
			j, _ = m.lookup(&w, r.Method, loose, false)
		}
		if m := t.hosts[""]; m != nil && j < 0 {
			w := walk{fold: true}
			j, _ = m.lookup(&w, r.Method, loose, false)
		}
		vs.add(j, t.module(j, loose))
		return
	}
	if loose := loosePath(p); host != stripPort(r.Host) || loose != p {
		u := &url.URL{Path: loose}
		j := t.muxMatch(withURL(r, host, u))
		vs.add(j, t.muxModule(j, u))
	}
}

// module returns segment rt.moduleSeg of segs for route i.
func (t *Table) module(i int, segs []string) string {
	if i < 0 {
		return ""
	}
	if n := t.routes[i].moduleSeg; n >= 0 && n < len(segs) {
		return segs[n]
	}
	return ""
}

// muxModule returns the {module} segment of u's path for route i as
// ServeMux gives it: split the escaped path, then unescape the segment.
func (t *Table) muxModule(i int, u *url.URL) string {
	if i < 0 || u == nil || t.routes[i].moduleSeg < 0 {
		return ""
	}
	return unescapePath(pathSegment(u.EscapedPath(), t.routes[i].moduleSeg))
}

func withURL(r *http.Request, host string, u *url.URL) *http.Request {
	return &http.Request{Method: r.Method, Host: host, URL: u}
}

// cleanPath is ServeMux's: path.Clean, keeping a trailing slash.
func cleanPath(p string) string {
	if p == "" {
		return "/"
	}
	if p[0] != '/' {
		p = "/" + p
	}
	np := path.Clean(p)
	if p[len(p)-1] == '/' && np != "/" {
		np += "/"
	}
	return np
}

// splitClean splits a clean path into its segments and whether it ends in a
// slash; escaped paths have their segments unescaped, as ServeMux does.
func splitClean(p string, escaped bool) ([]string, bool) {
	p = strings.TrimPrefix(p, "/")
	if p == "" {
		return nil, true
	}
	segs := strings.Split(p, "/")
	trailing := segs[len(segs)-1] == ""
	if trailing {
		segs = segs[:len(segs)-1]
	}
	if escaped {
		for k, s := range segs {
			segs[k] = unescapePath(s)
		}
	}
	return segs, trailing
}

// unescapePath is ServeMux's: s unescaped, or s if it does not unescape.
func unescapePath(s string) string {
	if u, err := url.PathUnescape(s); err == nil {
		return u
	}
	return s
}

// dotted reports whether a segment ends in a dot or has path parameters
// or a backslash: whether a loose router may read the path otherwise.
func dotted(segs []string) bool {
	for _, s := range segs {
		if s != "" && (s[len(s)-1] == '.' || s[len(s)-1] == ' ') || strings.IndexAny(s, `;\`) >= 0 || hasJavaFold(s) {
			return true
		}
	}
	return false
}

// javaFold maps the non-ASCII letters that Java's equalsIgnoreCase (and
// regionMatches(true, ...), as Spring's case-insensitive PathPattern
// compares) takes for ASCII ones to those: İ and ı for i (one lower-cases,
// the other upper-cases to the ASCII letter's case), ſ for s and the
// Kelvin sign for k. The loose reading, which folds ASCII case, folds them
// too (isLimit reads COQL's LIMIT the same way).
var javaFold = strings.NewReplacer("\u0130", "i", "\u0131", "i", "\u017f", "s", "\u212a", "k")

// hasJavaFold reports whether s has a letter javaFold maps.
func hasJavaFold(s string) bool {
	for i := 0; i+1 < len(s); i++ {
		switch {
		case s[i] == 0xc4 && (s[i+1] == 0xb0 || s[i+1] == 0xb1), s[i] == 0xc5 && s[i+1] == 0xbf,
			s[i] == 0xe2 && i+2 < len(s) && s[i+1] == 0x84 && s[i+2] == 0xaa:
			return true
		}
	}
	return false
}

// loosePath is the clean path p read loosely (looseSegs), without a
// trailing slash.
func loosePath(p string) string {
	segs, _ := splitClean(p, false)
	return "/" + strings.Join(looseSegs(segs[:0:0], segs, len(segs)), "/")
}

// looseSegs appends to dst the segments of a clean path, segs, as a loose
// router reads them: without path parameters and trailing dots and spaces,
// and normalized after path parameters are dropped, as Tomcat and Spring do, so
// that "..;" removes the segment before it and ";x" alone is no segment
// (the "..;/" bypass). A backslash separates segments too, as for IIS and
// Node's URL parsers. It keeps at most limit segments, counting the others
// (so that ".." still removes them): a path longer than every pattern by
// one segment or more matches as it would whole, and a long path costs no
// more memory than that.
func looseSegs(dst, segs []string, limit int) []string {
	l := looser{dst: dst, base: len(dst), limit: limit}
	for _, seg := range segs {
		l = l.seg(seg)
	}
	return l.dst
}

// looseSegsPath is looseSegs over the segments of the clean path p.
func looseSegsPath(dst []string, p string, limit int) []string {
	l := looser{dst: dst, base: len(dst), limit: limit}
	for p = strings.TrimPrefix(p, "/"); p != ""; {
		var seg string
		seg, p, _ = strings.Cut(p, "/")
		l = l.seg(seg)
	}
	return l.dst
}

// looser builds a loose reading's segments (looseSegs); by value, so that
// the caller's array for them stays on its stack.
type looser struct {
	dst                []string
	base, extra, limit int
}

func (l looser) seg(seg string) looser {
	for more := true; more; {
		var s string
		s, seg, more = strings.Cut(seg, `\`)
		if k := strings.IndexByte(s, ';'); k >= 0 {
			s = s[:k]
		}
		switch s {
		case "", ".":
			continue
		case "..":
			if l.extra > 0 {
				l.extra--
			} else if len(l.dst) > l.base {
				l.dst = l.dst[:len(l.dst)-1]
			}
			continue
		}
		if trimmed := strings.TrimRight(s, ". "); trimmed != "" { // as Windows' path normalization
			s = trimmed
		}
		if hasJavaFold(s) {
			s = javaFold.Replace(s)
		}
		if len(l.dst)-l.base >= l.limit {
			l.extra++
		} else {
			l.dst = append(l.dst, s)
		}
	}
	return l
}

// stripPort is ServeMux's stripHostPort.
func stripPort(h string) string {
	if !strings.Contains(h, ":") {
		return h
	}
	if host, _, err := net.SplitHostPort(h); err == nil {
		return host
	}
	return h
}
