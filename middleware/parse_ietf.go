package middleware

import (
	"strings"
	"time"
)

// ietfPolicies is the number of distinct policies ParseHeaders follows in
// the IETF fields; the first two that count requests become the pools.
const ietfPolicies = 4

// ietfPolicy is one policy as RateLimit-Policy and RateLimit describe it.
type ietfPolicy struct {
	pool  Pool // pool.Name is the policy's name, as written between the quotes
	other bool // its quota unit is not requests: bytes or concurrency
}

// ietf reads RateLimit-Policy and RateLimit (draft -10). A RateLimit member
// belongs to the policy of the same name; without one it stands alone.
// Malformed members are ignored, as the draft requires.
func (p *parser) ietf() {
	var pols [ietfPolicies]ietfPolicy
	n := 0
	find := func(name string) *ietfPolicy {
		for i := range n {
			if pols[i].pool.Name == name {
				return &pols[i]
			}
		}
		if n == len(pols) {
			return nil
		}
		n++
		pols[n-1].pool.Name = name
		return &pols[n-1]
	}
	for it := (sfList{lines: p.h[keyRateLimitPolicy]}); ; {
		name, params, valid, done := it.next()
		if done {
			break
		}
		v := parseSFParams(params)
		if !valid || v.has&hasQ == 0 {
			continue // q is required
		}
		if pol := find(name); pol != nil && !pol.pool.Has(FieldLimit) {
			pol.other = v.has&hasOtherUnit != 0
			pol.pool.Limit = v.q
			pol.pool.Present |= FieldLimit
			if d, ok := within(v.w, time.Second, false); ok && v.has&hasW != 0 {
				pol.pool.Window = d
				pol.pool.Present |= FieldWindow
			}
		}
	}
	for it := (sfList{lines: p.h[keyRateLimit]}); ; {
		name, params, valid, done := it.next()
		if done {
			break
		}
		v := parseSFParams(params)
		if !valid || v.has&hasR == 0 {
			continue // r is required
		}
		if pol := find(name); pol != nil && !pol.pool.Has(FieldRemaining) {
			pol.pool.Remaining = v.r
			pol.pool.Present |= FieldRemaining
			if d, ok := within(v.t, time.Second, true); ok && v.has&hasT != 0 {
				pol.pool.Reset = p.now.Add(d)
				pol.pool.Present |= FieldReset
			}
		}
	}
	p.mergeIETF(pols[:n])
}

// mergeIETF merges the first two policies that count requests: the longer
// window is the main pool, the shorter the interval; in the order sent when
// either window is unknown.
func (p *parser) mergeIETF(pols []ietfPolicy) {
	var pools [2]Pool
	k := 0
	for i := range pols {
		if !pols[i].other && k < len(pools) {
			pools[k] = pols[i].pool
			k++
		}
	}
	if pools[0].Has(FieldWindow) && pools[1].Has(FieldWindow) && pools[1].Window > pools[0].Window {
		pools[0], pools[1] = pools[1], pools[0]
	}
	p.merge(DialectIETF, pools[0], pools[1])
}

// sfList iterates over the members of a Structured Field List (RFC 9651)
// split over several field lines.
type sfList struct {
	lines []string
	rest  string // of the current line
}

// next returns the next member: the raw content of its sf-string item, and
// its parameters (";q=1;w=2"). valid is false for a member of another shape;
// done is true when the list is exhausted.
func (it *sfList) next() (name, params string, valid, done bool) {
	// Not TrimSpace(it.rest): trimming a long tail of spaces on every call
	// made a long list quadratic. A blank member is skipped as invalid.
	for it.rest == "" {
		if len(it.lines) == 0 {
			return "", "", false, true
		}
		it.rest, it.lines = it.lines[0], it.lines[1:]
	}
	var member string
	member, it.rest = splitQuoted(it.rest, ',')
	name, params, valid = sfStringItem(strings.TrimSpace(member))
	return name, params, valid, false
}

// sfStringItem splits `"name";params` into the string's raw content and the
// parameters, checking the string's characters and escapes.
func sfStringItem(m string) (name, params string, ok bool) {
	if len(m) < 2 || m[0] != '"' {
		return "", "", false
	}
	for i := 1; i < len(m); i++ {
		switch c := m[i]; {
		case c == '\\':
			if i+1 == len(m) || (m[i+1] != '"' && m[i+1] != '\\') {
				return "", "", false
			}
			i++
		case c == '"':
			params = m[i+1:]
			if params != "" && params[0] != ';' {
				return "", "", false
			}
			return m[1:i], params, true
		case c < 0x20 || c > 0x7e:
			return "", "", false
		}
	}
	return "", "", false // unterminated
}

// sfParams holds the parameters the IETF fields define; has says which parsed.
type sfParams struct {
	q, w, r, t int64
	has        uint8
}

const (
	hasQ uint8 = 1 << iota
	hasW
	hasR
	hasT
	hasOtherUnit // qu names bytes or concurrent requests, not requests
)

// parseSFParams reads q, w, r and t as non-negative sf-integers (at most 15
// digits) and qu. As in RFC 9651, the last occurrence of a key wins; a value
// that does not parse leaves its key absent. Other keys (pk, vendor ones) are
// skipped.
func parseSFParams(params string) (v sfParams) {
	for rest := params; rest != ""; {
		var param string
		param, rest = splitQuoted(rest, ';')
		k, val, _ := strings.Cut(strings.TrimSpace(param), "=")
		var dst *int64
		var bit uint8
		switch k {
		case "q":
			dst, bit = &v.q, hasQ
		case "w":
			dst, bit = &v.w, hasW
		case "r":
			dst, bit = &v.r, hasR
		case "t":
			dst, bit = &v.t, hasT
		case "qu":
			v.has &^= hasOtherUnit
			if val == `"content-bytes"` || val == `"concurrent-requests"` {
				v.has |= hasOtherUnit
			}
			continue
		default:
			continue
		}
		v.has &^= bit
		if len(val) == 0 || len(val) > 15 {
			continue
		}
		if n, ok := parseCount(val); ok && val[0] != ' ' && val[len(val)-1] != ' ' {
			*dst = n
			v.has |= bit
		}
	}
	return v
}
