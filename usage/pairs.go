package usage

import (
	"errors"
	"slices"
	"strings"
)

// ErrPair is returned by Breakdown for two dimensions whose breakdown the
// statistics do not keep (see Kept).
var ErrPair = errors.New("usage: breakdown not kept for these dimensions")

// breakdowns are the breakdowns kept, by outer dimension: an application
// by user, IP, module and method; a user by IP and module.
var breakdowns = [...]struct {
	outer Dimension
	inner []Dimension
}{{App, []Dimension{User, IP, Module, Method}}, {User, []Dimension{IP, Module}}}

const numOuters = len(breakdowns)

// Default caps of a breakdown, per tenant and hour (see WithBreakdownCaps).
const (
	DefaultBreakdownKeys   = 20
	DefaultBreakdownPerKey = 10
)

// Kept reports whether the statistics keep the breakdown of outer by inner:
// application by user, IP, module or method, and user by IP or module.
func Kept(outer, inner Dimension) bool { return outerIndex(outer, inner) >= 0 }

// outerIndex returns the index in breakdowns of outer, -1 unless it has inner.
func outerIndex(outer, inner Dimension) int {
	for i, b := range breakdowns {
		if b.outer == outer && slices.Contains(b.inner, inner) {
			return i
		}
	}
	return -1
}

// pairTable holds the breakdowns of one outer dimension in one hour: at
// most maxKeys outer keys (and Other), each with at most perKey keys (and
// Other) in each inner dimension. Folding works as in a dimension (see
// admit): the outer key with the fewest credits folds into the outer
// Other, its inner counts into Other's inner Other.
type pairTable struct {
	rows map[string]*pairRow
	keys []*pairRow // the rows but Other's, to scan for the tail faster than rows
	last *pairRow   // most recently applied: traffic repeats its keys
}

// pairRow is one outer key's breakdown.
type pairRow struct {
	total Count // Key is the outer key; credits include settled differences
	inner [numDims]map[string]*Count
	last  [numDims]*Count
}

// applyPairs adds sum to the breakdowns. keys are the event's keys,
// owned[d] when keys[d] is the dimension's own copy, which the breakdown
// may share instead of cloning. A settled difference (adjust), known by
// application only, goes to the application's row total.
func (h *hourUsage) applyPairs(keys *[numDims]string, owned *[numDims]bool, sum Count, adjust bool, maxKeys, perKey int) {
	for i, b := range breakdowns {
		if adjust && b.outer != App {
			continue
		}
		t := h.pairs[i]
		if t == nil {
			t = &pairTable{rows: map[string]*pairRow{}}
			h.pairs[i] = t
		}
		r := t.last
		if r == nil || r.total.Key != keys[b.outer] {
			r = t.row(keys[b.outer], owned[b.outer], sum, maxKeys)
			t.last = r
		}
		r.total.plus(sum)
		if adjust {
			continue
		}
		for _, d := range b.inner {
			c := r.last[d]
			if c == nil || c.Key != keys[d] {
				m := r.inner[d]
				if m == nil {
					m = map[string]*Count{}
					r.inner[d] = m
				}
				if c = m[keys[d]]; c == nil {
					c = admit(m, keys[d], owned[d], sum, perKey)
				}
				r.last[d] = c
			}
			c.plus(sum)
		}
	}
}

// row finds the row of outer key k, new or not, which brings sum.
func (t *pairTable) row(k string, owned bool, sum Count, maxKeys int) *pairRow {
	if r := t.rows[k]; r != nil {
		return r
	}
	other := t.rows[Other]
	if len(t.rows)-btoi(other != nil) < maxKeys {
		return t.newRow(k, owned)
	}
	var tail *pairRow
	for _, r := range t.keys {
		if tail == nil || smaller(&r.total, &tail.total) {
			tail = r
		}
	}
	if other == nil {
		other = &pairRow{total: Count{Key: Other}}
		t.rows[Other] = other
	}
	if k == Other || tail == nil || !below(&tail.total, &sum) {
		return other // k is Other's own row, or the tail
	}
	// The tail's inner counts fold whole into Other's inner Other: a
	// flood of new keys folds a row per event, which must stay cheap,
	// and Other's own breakdown tells little.
	other.total.plus(tail.total)
	for d, m := range tail.inner {
		if len(m) == 0 {
			continue
		}
		if other.inner[d] == nil {
			other.inner[d] = map[string]*Count{}
		}
		oc := other.inner[d][Other]
		if oc == nil {
			oc = &Count{Key: Other}
			other.inner[d][Other] = oc
		}
		for _, c := range m {
			oc.plus(*c)
		}
		clear(m)
	}
	delete(t.rows, tail.total.Key)
	// The tail's row (in place in keys) and maps are reused for k, which
	// saves a flood allocations. t.last may hold it: the caller replaces it.
	*tail = pairRow{total: Count{Key: ownKey(k, owned)}, inner: tail.inner}
	t.rows[tail.total.Key] = tail
	return tail
}

func (t *pairTable) newRow(k string, owned bool) *pairRow {
	r := &pairRow{total: Count{Key: ownKey(k, owned)}}
	t.rows[r.total.Key] = r
	if k != Other { // a real key "other" is Other's row, never the tail
		t.keys = append(t.keys, r)
	}
	return r
}

// ownKey returns k, cloned unless owned (see newCount).
func ownKey(k string, owned bool) string {
	if owned {
		return k
	}
	return strings.Clone(k)
}
