package cost

import (
	"net/http"
	"net/url"
	"strings"
	"sync"
)

// matcher finds the route of a request the way http.ServeMux.Handler does,
// without its per-request costs (path cleaning and unescaping, an allocation
// for the wildcard matches, a read lock). It mirrors ServeMux's routing tree:
// a tree of path segments per method, searched literal child first, then the
// single-segment wildcard, then the multi-segment one, backtracking on
// failure. Because ServeMux rejected every conflicting pattern when the table
// was built, the first match found this way is ServeMux's most specific one.
//
// It handles tables without host-qualified patterns (the others go to the
// ServeMux itself). Plain, clean paths (scanPath) are matched over the path
// string itself (matchpath.go); the others are cleaned, split and unescaped
// first (views.go).
// TestMatchDifferential and FuzzMatch check that it agrees with ServeMux.
type matcher struct {
	methods   []methodTree         // patterns with a method, one tree per method
	std       [stdMethods]*segNode // methods' trees of the usual methods
	anyMethod *segNode             // patterns without a method
	get       *segNode             // methods' "GET" tree, also tried for HEAD
	routes    []matchInfo          // indexed like Table.routes
	// foldTwins: a node has literal children that differ only in case, so
	// a segment that matches one exactly may reach another loosely; every
	// path then takes the loose reading.
	foldTwins bool
	depth     int // the most segments a pattern has
}

type methodTree struct {
	method string
	root   *segNode
}

// matchInfo is what the trailing-slash redirect check needs about a pattern.
type matchInfo struct {
	multi bool // the last segment is a multi wildcard (or a trailing slash)
	segs  int  // number of segments
}

// segNode is one path position. route is the pattern that ends here (-1 if
// none); multi the pattern whose multi wildcard starts here (-1 if none).
type segNode struct {
	route   int
	multi   int
	lits    []litChild // literal children while few
	lit0    litChild   // lits[0], for matchPath: one load less
	step    uint8      // the one way on from here, if so (setSteps)
	run     string     // from here, stepLit nodes in a row: their literals joined by "/"
	runSegs int        // how many literals (0: fewer than two, no run)
	runEnd  *segNode   // the node they lead to
	// litWord is, for walkClean, the literals of the stepLit nodes from
	// here (litSegs of them, litEnd the node they lead to), joined by
	// slashes and followed by one, as a little-endian word of litLen+1
	// bytes (litMask); litCuts are the offsets of its slashes. litMask
	// is 0 unless lit0 is a clean segment (cleanLit) short enough.
	litWord, litMask uint64
	litLen, litSegs  uint
	litEnd           *segNode
	litCuts          [4]uint8
	litMap           map[string]*segNode   // literal children once many
	foldMap          map[string][]*segNode // litMap's children by ASCII-lowercased literal
	wild             *segNode              // single-segment wildcard child
}

type litChild struct {
	seg  string
	node *segNode
}

// maxLitSlice is the fan-out above which literal children go into a map, as
// in ServeMux's own tree.
const maxLitSlice = 8

func newSegNode() *segNode { return &segNode{route: -1, multi: -1} }

// patSeg is one parsed path segment of a pattern.
type patSeg struct {
	s     string // literal (unescaped; "/" for {$}); "" for wildcards
	wild  bool
	multi bool
}

// parsePattern splits a pattern ServeMux has accepted into method, host and
// segments, as ServeMux's own parser does.
func parsePattern(s string) (method, host string, segs []patSeg) {
	rest := s
	if i := strings.IndexAny(s, " \t"); i >= 0 {
		method, rest = s[:i], strings.TrimLeft(s[i+1:], " \t")
	}
	i := strings.IndexByte(rest, '/')
	host, rest = rest[:i], rest[i:]
	for len(rest) > 0 {
		rest = rest[1:]
		if rest == "" { // trailing slash: an anonymous multi wildcard
			segs = append(segs, patSeg{wild: true, multi: true})
			break
		}
		i := strings.IndexByte(rest, '/')
		if i < 0 {
			i = len(rest)
		}
		var seg string
		seg, rest = rest[:i], rest[i:]
		switch {
		case strings.IndexByte(seg, '{') < 0:
			if u, err := url.PathUnescape(seg); err == nil {
				seg = u
			}
			// ServeMux files an empty literal ("//" in a method-less
			// pattern) under the key of the single wildcard, so it
			// matches any one segment; so does the matcher.
			segs = append(segs, patSeg{s: seg, wild: seg == ""})
		case seg == "{$}":
			segs = append(segs, patSeg{s: "/"})
		default:
			segs = append(segs, patSeg{wild: true, multi: strings.HasSuffix(seg, "...}")})
		}
	}
	return method, host, segs
}

// newMatcher builds a matcher for patterns, which ServeMux has accepted
// together. It returns nil when a pattern names a host: those tables are
// matched by ServeMux, and read loosely by a matcher per host (Table.hosts).
func newMatcher(patterns []string) *matcher {
	all := make([]int, len(patterns))
	for i, p := range patterns {
		if _, host, _ := parsePattern(p); host != "" {
			return nil
		}
		all[i] = i
	}
	return newHostMatcher(patterns, all, make([]matchInfo, len(patterns)))
}

// newHostMatcher builds a matcher for the patterns numbered in idx, which
// ServeMux has accepted together with the others and which share a host
// (or have none); route numbers stay those of patterns, and routes, indexed
// likewise, may be shared by the matchers of the other hosts' patterns.
// Tables with host patterns use them for the case-insensitive reading,
// which ServeMux cannot make (muxViews).
func newHostMatcher(patterns []string, idx []int, routes []matchInfo) *matcher {
	m := &matcher{anyMethod: newSegNode(), routes: routes}
	for _, i := range idx {
		method, _, segs := parsePattern(patterns[i])
		m.depth = max(m.depth, len(segs))
		n := m.tree(method)
		for _, s := range segs {
			switch {
			case s.multi:
				n.multi = i
			case s.wild:
				if n.wild == nil {
					n.wild = newSegNode()
				}
				n = n.wild
			default:
				n = n.addLit(s.s)
			}
		}
		if len(segs) == 0 || !segs[len(segs)-1].multi {
			n.route = i
		}
		m.routes[i] = matchInfo{multi: len(segs) > 0 && segs[len(segs)-1].multi, segs: len(segs)}
	}
	m.anyMethod.setSteps()
	m.foldTwins = m.anyMethod.hasFoldTwins()
	for _, t := range m.methods {
		t.root.setSteps()
		m.foldTwins = m.foldTwins || t.root.hasFoldTwins()
	}
	return m
}

// hasFoldTwins reports whether n or a node under it has two literal
// children that differ only in ASCII case.
func (n *segNode) hasFoldTwins() bool {
	for i, l := range n.lits {
		for _, l2 := range n.lits[:i] {
			if equalFoldASCII(l.seg, l2.seg) {
				return true
			}
		}
		if l.node.hasFoldTwins() {
			return true
		}
	}
	for _, c := range n.foldMap {
		if len(c) > 1 {
			return true
		}
	}
	for _, c := range n.litMap {
		if c.hasFoldTwins() {
			return true
		}
	}
	return n.wild != nil && n.wild.hasFoldTwins()
}

// A node's step says when a segment (not the trailing slash) has only one
// way on from it, so that matchPath can take it without the general case.
const (
	stepAny  = iota // no shortcut
	stepLit         // only the literal child lit0
	stepWild        // only the wildcard child, whatever the segment
)

// setSteps sets the steps (and runs) of n and the nodes under it.
func (n *segNode) setSteps() {
	for _, l := range n.lits {
		l.node.setSteps()
	}
	for _, c := range n.litMap {
		c.setSteps()
	}
	if n.wild != nil {
		n.wild.setSteps()
	}
	switch {
	case n.multi >= 0 || n.litMap != nil:
	case len(n.lits) == 1 && n.wild == nil:
		n.step = stepLit
	case len(n.lits) == 0 && n.wild != nil:
		n.step = stepWild
	}
	n.setLitWord()
	// A run compares several segments at once. Its literals hold no "/"
	// (nor are "/", {$}'s), so that a path's segments equal them one by one
	// if and only if the run equals the path from the first to the last.
	c := n.lit0.node
	if n.step != stepLit || strings.Contains(n.lit0.seg, "/") || c.step != stepLit || strings.Contains(c.lit0.seg, "/") {
		return
	}
	if c.runSegs > 0 {
		n.run, n.runSegs, n.runEnd = n.lit0.seg+"/"+c.run, c.runSegs+1, c.runEnd
	} else {
		n.run, n.runSegs, n.runEnd = n.lit0.seg+"/"+c.lit0.seg, 2, c.lit0.node
	}
}

// setLitWord sets n's litWord and the fields that go with it: as many
// stepLit nodes' clean literals from n as fit in 8 bytes with a slash after
// each.
func (n *segNode) setLitWord() {
	var run []byte
	for c := n; c.step == stepLit && cleanLit(c.lit0.seg) && len(run)+len(c.lit0.seg)+1 <= 8; c = c.lit0.node {
		run = append(append(run, c.lit0.seg...), '/')
		n.litCuts[n.litSegs] = uint8(len(run) - 1)
		n.litSegs++
		n.litEnd = c.lit0.node
	}
	if n.litSegs == 0 {
		return
	}
	n.litLen = uint(len(run) - 1)
	for i := len(run) - 1; i >= 0; i-- {
		n.litWord, n.litMask = n.litWord<<8|uint64(run[i]), n.litMask<<8|0xff
	}
}

// tree returns the tree of method, creating it.
func (m *matcher) tree(method string) *segNode {
	if method == "" {
		return m.anyMethod
	}
	if n := m.methodRoot(method); n != nil {
		return n
	}
	n := newSegNode()
	m.methods = append(m.methods, methodTree{method: method, root: n})
	if k := stdMethod(method); k >= 0 {
		m.std[k] = n
	}
	if method == http.MethodGet {
		m.get = n
	}
	return n
}

func (m *matcher) methodRoot(method string) *segNode {
	if k := stdMethod(method); k >= 0 {
		return m.std[k]
	}
	for i := range m.methods {
		if m.methods[i].method == method {
			return m.methods[i].root
		}
	}
	return nil
}

// stdMethods is how many methods stdMethod numbers.
const stdMethods = 7

// stdPost is stdMethod's number of POST.
const stdPost = 1

// stdMethod numbers the usual methods, -1 for the others: a switch on
// constants compares a method without calling memequal.
func stdMethod(method string) int {
	switch method {
	case http.MethodGet:
		return 0
	case http.MethodPost:
		return stdPost
	case http.MethodPut:
		return 2
	case http.MethodDelete:
		return 3
	case http.MethodPatch:
		return 4
	case http.MethodHead:
		return 5
	case http.MethodOptions:
		return 6
	}
	return -1
}

func (n *segNode) addLit(seg string) *segNode {
	if c := n.lit(seg); c != nil {
		return c
	}
	c := newSegNode()
	if n.litMap == nil {
		n.lits = append(n.lits, litChild{seg, c})
		if len(n.lits) <= maxLitSlice {
			n.lit0 = n.lits[0]
			return c
		}
		n.lit0 = litChild{}
		n.litMap = make(map[string]*segNode, len(n.lits))
		n.foldMap = make(map[string][]*segNode, len(n.lits))
		for _, l := range n.lits[:len(n.lits)-1] {
			n.litMap[l.seg] = l.node
			n.foldMap[lowerASCII(l.seg)] = append(n.foldMap[lowerASCII(l.seg)], l.node)
		}
		n.lits = nil
	}
	n.litMap[seg] = c
	n.foldMap[lowerASCII(seg)] = append(n.foldMap[lowerASCII(seg)], c)
	return c
}

func (n *segNode) lit(seg string) *segNode {
	if n.litMap != nil {
		return n.litMap[seg]
	}
	for i := range n.lits {
		if n.lits[i].seg == seg {
			return n.lits[i].node
		}
	}
	return nil
}

// walk is one search of the tree: its mode, and what it noticed.
type walk struct {
	fold     bool // literals match segments ASCII case-insensitively
	foldMiss bool // a segment missed a literal that differs from it only in case
}

// match returns the route matching the path made of segs and, if trailing,
// a final "/" (plus another "/" when slash, for the redirect check), -1 if
// none. Segments are matched literal child first, then the single wildcard,
// then the multi wildcard, as ServeMux's tree does.
func (n *segNode) match(w *walk, segs []string, trailing, slash bool) int {
	var seg string
	if len(segs) == 0 {
		if !trailing {
			if !slash {
				return n.route
			}
			slash = false // the redirect check's "/" ends the path
		}
		seg, trailing = "/", false
	} else {
		seg, segs = segs[0], segs[1:]
	}
	if w.fold {
		if r := n.matchFold(w, seg, segs, trailing, slash); r >= 0 {
			return r
		}
	} else if c := n.lit(seg); c != nil {
		if r := c.match(w, segs, trailing, slash); r >= 0 {
			return r
		}
	} else if !w.foldMiss && n.hasFold(seg) {
		w.foldMiss = true
	}
	// A single wildcard never matches the trailing slash.
	if n.wild != nil && seg != "/" {
		if r := n.wild.match(w, segs, trailing, slash); r >= 0 {
			return r
		}
	}
	return n.multi
}

// matchMethod tries the request's method, then GET for HEAD, then the
// method-less patterns, as ServeMux does.
func (m *matcher) matchMethod(w *walk, method string, segs []string, trailing, slash bool) int {
	if n := m.methodRoot(method); n != nil {
		if r := n.match(w, segs, trailing, slash); r >= 0 {
			return r
		}
	}
	if method == http.MethodHead && m.get != nil {
		if r := m.get.match(w, segs, trailing, slash); r >= 0 {
			return r
		}
	}
	return m.anyMethod.match(w, segs, trailing, slash)
}

// exact mirrors ServeMux's exactMatch: no multi wildcard matched a non-empty
// remainder of a path of n segments (plus a "/" when trailing, another when
// slash).
func (m *matcher) exact(r, n int, trailing, slash bool) bool {
	if r < 0 {
		return false
	}
	info := m.routes[r]
	if !info.multi {
		return true
	}
	if !slash && !trailing {
		return false
	}
	if trailing { // the path's slashes: one per segment, one more if trailing
		n++
	}
	if slash {
		n++
	}
	return info.segs == n
}

// lookup returns the route ServeMux would serve for method and a clean path
// split into segs, -1 when it would answer 404 or 405. When ServeMux would
// redirect /tree to /tree/ (only the latter matches exactly), it returns the
// route of /tree/ and redirect true.
func (m *matcher) lookup(w *walk, method string, segs []string, trailing bool) (r int, redirect bool) {
	r = m.matchMethod(w, method, segs, trailing, false)
	if !trailing && !m.exact(r, len(segs), trailing, false) {
		if r2 := m.matchMethod(w, method, segs, trailing, true); m.exact(r2, len(segs), trailing, true) {
			return r2, true
		}
	}
	return r, false
}

// maxSegs is how many path segments the fast path takes (scanPath); longer
// paths take the slow path. API paths are far shorter.
const maxSegs = 12

// muxRoutesWildcards reports whether ServeMux routes with the Go 1.22
// patterns the matcher mirrors; with GODEBUG=httpmuxgo121=1 it does not, and
// every request goes to the ServeMux.
var muxRoutesWildcards = sync.OnceValue(func() bool {
	mux := http.NewServeMux()
	if err := register(mux, "/{x}", routeIndex(0)); err != nil {
		return false
	}
	h, _ := mux.Handler(&http.Request{Method: http.MethodGet, URL: &url.URL{Path: "/a"}})
	_, ok := h.(routeIndex)
	return ok
})
