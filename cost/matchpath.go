package cost

import (
	"math/bits"
	"net/http"
)

// The fast path: a clean, plainly spelled path (nearly every request) is
// checked in one scan (scanPath) and then matched over the path string
// itself (matchPath), with no segment array to fill and zero.

// pathCuts is a path scanPath accepted, cut into segments by offsets (no
// array of strings to fill, and little to zero), and what its walks noticed.
type pathCuts struct {
	p        string
	cut      [16]uint16 // segment k is p[cut[k]+1 : cut[k+1]]; maxSegs+1 used
	n        int        // segments, not counting a trailing slash
	trailing bool       // p ends in a slash
	foldMiss bool       // as walk.foldMiss
}

func (c *pathCuts) seg(k int) string { return c.p[c.cut[k]+1 : c.cut[k+1]] }

// pathByte sorts bytes for scanPath: the bytes that url.URL.EscapedPath
// leaves as they are and that need no unescaping, so that a path made only
// of them is its own escaped form, are safe (0, so that the scan's test is
// one compare with zero), but for '/'.
var pathByte = func() (t [256]uint8) {
	for i := range t {
		t[i] = byteBad
	}
	// Not ';': servlet containers drop path parameters (slowViews).
	for _, c := range "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.~$&+,:=@" {
		t[c] = byteSafe
	}
	t['/'] = byteSlash
	return t
}()

const (
	byteSafe = iota
	byteSlash
	byteBad
)

// scanPath reports whether p can take the fast path and, if so, cuts it into
// c. It must be clean (start with '/' and have no empty segment but a
// trailing slash's), so that ServeMux would not redirect it, made only of
// safe bytes (pathByte), so that it is its own escaped and unescaped form,
// with no segment ending in a dot ("." and ".." but also "read.", which
// some routers read as "read"), and it must have at most maxSegs segments.
// The caller checks that the URL has no RawPath. It is one loop over the
// bytes, of one table load and branch each; a slash's checks look back.
func scanPath(p string, c *pathCuts) bool {
	return len(p) > 0 && len(p) <= 1<<16-1 && p[0] == '/' && scanFrom(p, c, 1, 0)
}

// scanFrom is scanPath from offset i, where segment n+1 starts, the first n
// cut (p starts with '/' and fits the offsets).
func scanFrom(p string, c *pathCuts, i uint, n int) bool {
	// Unsigned offsets, so that the loops need no bounds checks.
	end := uint(len(p))
	for i < end {
		for i < end && pathByte[p[i]] == byteSafe {
			i++
		}
		if i == end {
			break
		}
		// A slash ends a segment, which must not be empty nor end in a
		// dot: the byte before it is neither '/' nor '.' (p[i-1]|1 is
		// '/' for both).
		if p[i] != '/' || p[i-1]|1 == '/' || n == maxSegs {
			return false
		}
		n++
		c.cut[n] = uint16(i)
		i++
	}
	if last := p[end-1]; last == '/' {
		c.trailing = true // the trailing slash (or the root)
	} else {
		if last == '.' || n == maxSegs {
			return false
		}
		n++
		c.cut[n] = uint16(end)
	}
	c.p, c.n = p, n
	return true
}

// cleanLit reports whether a path segment equal to the literal s is one
// scanPath takes: not empty, of safe bytes, not ending in a dot; and short
// enough for walkClean to compare in a word with the slash after it.
func cleanLit(s string) bool {
	if s == "" || len(s) > 7 || s[len(s)-1] == '.' {
		return false
	}
	for i := 0; i < len(s); i++ {
		if pathByte[s[i]] != byteSafe {
			return false
		}
	}
	return true
}

// walkClean is scanPath(p, c) and then root.matchPath(c, 0, false) (ok is
// scanPath's answer), in one pass while the walk takes the one way on from
// each node (step): a literal is compared with its segment and the slash
// after it in one word, which checks those bytes as the scan would (the
// literal is a clean segment, cleanLit); a wildcard's segment is scanned.
// Where that pass stops (a miss, a node with more ways on, a trailing
// slash), the scan and the match go on from there, with what the walk has
// cut: the steps it took are those matchPath takes. walked says the walk
// read the whole path: route is then a node's, never a multi wildcard's. p
// starts with '/' and fits the offsets.
func walkClean(root *segNode, p string, c *pathCuts) (route int, walked, ok bool) {
	n, k, i, end := root, uint(0), uint(1), uint(len(p))
	tbl := pathBytes
	_, _ = tbl[0], c.cut[0]  // nil checks once, not in the loop
	if n == nil || end < 8 { // too short for a word
		goto rest
	}
walk:
	for i < end && k < maxSegs { // i: where segment k+1 starts
		// The 8 bytes from i, or the path's last 8 shifted down to start
		// at i, zeros past its end (no literal byte is 0).
		var w uint64
		if i+8 <= end {
			w = load64(p, i)
		} else {
			w = load64(p, end-8) >> (8 * (i + 8 - end) & 63)
		}
		// i moves on to the segment's end.
		switch start := i; n.step {
		case stepLit:
			// Its literal, and those of the stepLit nodes after it that
			// fit in the word, each followed by a slash; or, at the
			// path's end, by none.
			switch l := n.litLen; {
			case n.litMask == 0 || k+n.litSegs > maxSegs:
				break walk
			case w&n.litMask == n.litWord:
			case i+l == end && w&(n.litMask>>8) == n.litWord&(n.litMask>>8):
			default:
				break walk
			}
			for q, off := range n.litCuts[:n.litSegs] { // k+q < maxSegs
				c.cut[(k+1+uint(q))&15] = uint16(i + uint(off))
			}
			k, i, n = k+n.litSegs, i+n.litLen+1, n.litEnd
			continue
		case stepWild:
			// Its letters and digits in the word at once, its other
			// bytes one at a time.
			for i += alnumRun(w); i < end && tbl[p[i]] == byteSafe; i++ {
			}
			if i == start || p[i-1] == '.' || i < end && p[i] != '/' {
				i = start
				break walk
			}
			n = n.wild
		default:
			break walk
		}
		k++
		c.cut[k&15] = uint16(i) // k <= maxSegs: no bounds check
		i++
	}
	if i > end { // the walk read the whole path
		c.p, c.n = p, int(k)
		return n.route, true, true
	}
rest:
	if !scanFrom(p, c, i, int(k)) {
		return -1, false, false
	}
	if n == nil {
		return -1, false, true
	}
	return n.matchPath(c, int(k), false), false, true
}

// pathBytes is &pathByte, loaded once by walkClean's loop rather than made
// again at each byte.
var pathBytes = &pathByte

// alnumRun returns how many of x's bytes, from the lowest, are ASCII
// letters or digits. A byte b below 0x80 plus 0x80-k has its top bit set
// if and only if b >= k, carrying into no other byte; a byte from 0x80 up
// fails (| x), and what it carries reaches only the bytes after it.
func alnumRun(x uint64) uint {
	const hi = lsb * 0x80
	digit := (x + lsb*(0x80-'0')) &^ (x + lsb*(0x80-'9'-1))
	y := x | lsb*0x20 // capitals to small letters
	letter := (y + lsb*(0x80-'a')) &^ (y + lsb*(0x80-'z'-1))
	return uint(bits.TrailingZeros64((^(digit|letter)|x)&hi) >> 3)
}

// lsb has the low bit of each byte of a word set.
const lsb = 0x0101010101010101

// load64 returns p[i:i+8] as a little-endian word (one load).
func load64(p string, i uint) uint64 {
	p = p[i : i+8]
	return uint64(p[0]) | uint64(p[1])<<8 | uint64(p[2])<<16 | uint64(p[3])<<24 |
		uint64(p[4])<<32 | uint64(p[5])<<40 | uint64(p[6])<<48 | uint64(p[7])<<56
}

// segs returns c's segments, for the rare walks that need them (looseView).
func (c *pathCuts) segs(buf *[maxSegs]string) []string {
	for k := range c.n {
		buf[k] = c.seg(k)
	}
	return buf[:c.n]
}

// matchPath is match over c from its segment k. A node's one way on (step,
// run) is taken first; where a node leaves one way on it loops, with no call
// on the way (eqSeg and equalFoldASCII inline) to keep its state in
// registers; a map of literals and backtracking are tail calls.
func (n *segNode) matchPath(c *pathCuts, k int, slash bool) int {
	for {
		if k < c.n { // a segment: perhaps the one way on
			switch n.step {
			case stepWild:
				n, k = n.wild, k+1
				continue
			case stepLit:
				if m := n.runSegs; m > 0 && k+m <= c.n && eqSeg(n.run, c.p[c.cut[k]+1:c.cut[k+m]]) {
					n, k = n.runEnd, k+m
					continue
				}
				if eqSeg(n.lit0.seg, c.seg(k)) {
					n, k = n.lit0.node, k+1
					continue
				}
			}
		}
		var seg string
		end := false // seg is the final "/"
		switch {
		case k < c.n:
			seg = c.seg(k)
		case k == c.n && c.trailing:
			seg, end = "/", true
		case !slash:
			return n.route
		default: // the redirect check's "/" ends the path
			seg, end, slash = "/", true, false
		}
		k++
		if n.litMap != nil {
			return n.matchMap(c, k, slash, seg, end)
		}
		var child *segNode
		for i := range n.lits {
			if eqSeg(n.lits[i].seg, seg) {
				child = n.lits[i].node
				break
			}
		}
		// A literal equal but for case is looked for only once none is
		// equal (most segments are equal to one): a table of many versions
		// has many literals of one length at one node.
		if child == nil && !c.foldMiss {
			for i := range n.lits {
				if l := n.lits[i].seg; len(l) == len(seg) && equalFoldASCII(l, seg) {
					c.foldMiss = true
					break
				}
			}
		}
		wild := n.wild
		if end {
			wild = nil // a single wildcard never matches the trailing slash
		}
		switch {
		case n.multi >= 0 || child != nil && wild != nil:
			return n.backtrack(c, k, slash, child, wild)
		case child != nil:
			n = child
		case wild != nil:
			n = wild
		default:
			return -1
		}
	}
}

// matchMap is matchPath's step at a node whose literals are in a map.
func (n *segNode) matchMap(c *pathCuts, k int, slash bool, seg string, end bool) int {
	child := n.litMap[seg]
	if child == nil && !c.foldMiss && n.hasFold(seg) {
		c.foldMiss = true
	}
	wild := n.wild
	if end {
		wild = nil
	}
	return n.backtrack(c, k, slash, child, wild)
}

// backtrack tries child, then wild, then n's multi wildcard, for matchPath.
func (n *segNode) backtrack(c *pathCuts, k int, slash bool, child, wild *segNode) int {
	if child != nil {
		if r := child.matchPath(c, k, slash); r >= 0 {
			return r
		}
	}
	if wild != nil {
		if r := wild.matchPath(c, k, slash); r >= 0 {
			return r
		}
	}
	return n.multi
}

// eqSeg is a == b, without calling memequal: segments are short.
func eqSeg(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// matchPathMethod is matchMethod over c; root is the request method's tree
// (methodRoot).
func (m *matcher) matchPathMethod(c *pathCuts, root *segNode, method string, slash bool) int {
	if root != nil {
		if r := root.matchPath(c, 0, slash); r >= 0 {
			return r
		}
	}
	return m.matchPathOthers(c, method, slash)
}

// matchPathOthers is matchPathMethod after the method's own tree: GET's for
// HEAD, then the method-less patterns.
func (m *matcher) matchPathOthers(c *pathCuts, method string, slash bool) int {
	if m.get != nil && method == http.MethodHead {
		if r := m.get.matchPath(c, 0, slash); r >= 0 {
			return r
		}
	}
	return m.anyMethod.matchPath(c, 0, slash)
}

// lookupRest completes lookup over c after the method's tree gave r: the
// other trees if r < 0, then the check for a redirect to the path with a
// trailing slash. fastView skips it when r is already an exact match.
func (m *matcher) lookupRest(c *pathCuts, root *segNode, method string, r int) (int, bool) {
	if r < 0 {
		r = m.matchPathOthers(c, method, false)
	}
	if !c.trailing && !m.exact(r, c.n, false, false) {
		if r2 := m.matchPathMethod(c, root, method, true); m.exact(r2, c.n, false, true) {
			return r2, true
		}
	}
	return r, false
}

// What fastView found.
const (
	fastDone     = 1 << iota // the fast path read the path
	fastRedirect             // ServeMux redirects it, /tree to /tree/
	fastLoose                // a loose reading may differ: add looseView
	fastOverride             // a method override header or _method: add overrideViews

	// fastMore is what makes more than one reading.
	fastMore = fastLoose | fastOverride
)

// fastView reads r's path on the fast path when it can (st has fastDone):
// the route ServeMux serves (-1 for none) and its {module} segment. c, the
// caller's, is left holding the path's segments, for views.
func (t *Table) fastView(r *http.Request, c *pathCuts) (route int, module string, st int) {
	m, u := t.m, r.URL
	if m == nil || u == nil || u.RawPath != "" {
		return -1, "", 0
	}
	p := u.Path
	if len(p) == 0 || len(p) > 1<<16-1 || p[0] != '/' {
		return -1, "", 0
	}
	// The usual methods are told from CONNECT by stdMethod's switch.
	var root *segNode
	st = fastDone
	if k := stdMethod(r.Method); k >= 0 {
		root = m.std[k]
		if k == stdPost && len(u.RawQuery) > 0 && hasMethodParam(u.RawQuery) {
			st |= fastOverride // a POST's _method (methodParams)
		}
	} else if r.Method == http.MethodConnect || lowerMethod(r.Method) {
		// A method in lower case is read in capitals too (overrideViews):
		// the slow path's readings.
		return -1, "", 0
	} else {
		root = m.methodRoot(r.Method)
	}
	i, walked, ok := walkClean(root, p, c)
	if !ok {
		return -1, "", 0
	}
	if i < 0 || !walked && !c.trailing && m.routes[i].multi {
		var redirect bool
		if i, redirect = m.lookupRest(c, root, r.Method, i); redirect {
			st |= fastRedirect
		}
	}
	if c.foldMiss || c.trailing && c.n > 0 || m.foldTwins {
		st |= fastLoose
	}
	if len(r.Header) > 0 && hasOverride(r.Header) {
		st |= fastOverride
	}
	if i >= 0 {
		// k < c.n <= maxSegs (-1 is above it, unsigned): the masks drop
		// the bounds checks.
		if k := uint(t.routes[i].moduleSeg); k < uint(c.n) {
			module = p[c.cut[k&15]+1 : c.cut[(k+1)&15]]
		}
	}
	return i, module, st
}
