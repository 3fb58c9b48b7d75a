package cost

// Case-insensitive routing: Express and ASP.NET, among others, route
// /CRM/BULK/v8/read where ServeMux routes only /crm/bulk/v8/read. The
// matcher notices when a segment misses a literal that differs from it only
// in ASCII case (walk.foldMiss), and the table then also matches the path
// with literals compared ASCII case-insensitively (walk.fold).

// hasFold reports whether a literal child of n differs from seg only in
// ASCII case. Called after seg missed the exact literals.
func (n *segNode) hasFold(seg string) bool {
	if n.foldMap != nil {
		var buf [64]byte
		if len(seg) > len(buf) {
			return true // too long to look up without allocating: assume so
		}
		return len(n.foldMap[string(lowerInto(buf[:0], seg))]) > 0
	}
	for i := range n.lits {
		if equalFoldASCII(n.lits[i].seg, seg) {
			return true
		}
	}
	return false
}

// matchFold matches seg and the rest of the path against every literal child
// that equals seg but for ASCII case, in turn.
func (n *segNode) matchFold(w *walk, seg string, segs []string, trailing, slash bool) int {
	if n.foldMap != nil {
		var buf [64]byte
		for _, c := range n.foldMap[string(lowerInto(buf[:0], seg))] {
			if r := c.match(w, segs, trailing, slash); r >= 0 {
				return r
			}
		}
		return -1
	}
	for i := range n.lits {
		if equalFoldASCII(n.lits[i].seg, seg) {
			if r := n.lits[i].node.match(w, segs, trailing, slash); r >= 0 {
				return r
			}
		}
	}
	return -1
}

func equalFoldASCII(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		if lowerByte(a[i]) != lowerByte(b[i]) {
			return false
		}
	}
	return true
}

func lowerByte(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

func lowerInto(dst []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		dst = append(dst, lowerByte(s[i]))
	}
	return dst
}

func lowerASCII(s string) string {
	for i := 0; i < len(s); i++ {
		if 'A' <= s[i] && s[i] <= 'Z' {
			return string(lowerInto(make([]byte, 0, len(s)), s))
		}
	}
	return s
}
