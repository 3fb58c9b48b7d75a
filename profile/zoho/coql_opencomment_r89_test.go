package zoho

import "testing"

// FuzzQueryLimitCost found, in seconds, a query of 7 bytes and a line that
// breaks its property "nothing before a LIMIT on a line of its own hides
// it: no literal, no comment, however left open": "/*limit\nlimit 2000"
// reads as LIMIT 200, the default. Read without comments it is "limit limit
// 2000", a LIMIT without a count, which the pricer (like COQL) takes for
// malformed, so only the reading with comments counts, and there the open
// comment runs to the end. No upstream reads LIMIT 2000 there either: one
// that ignores comments refuses the query, one that honours them reads no
// LIMIT. So the price, 1 credit, is right and the property is too strong:
// it holds only when the reading without comments is well-formed. This
// pins the price; the fuzz property is narrowed to match (its seed corpus
// keeps the input).
func TestQueryLimitOpenCommentThenLimit_r89(t *testing.T) {
	q := "/*limit\nlimit 2000"
	n, err := queryLimit(q, 200)
	if err != nil || n != 200 {
		t.Errorf("%q: limit %d %v, want the default, 200", q, n, err)
	}
	if _, err := limitOf(q, false, true, 200); err == nil {
		t.Errorf("%q without comments: a LIMIT without a count, not malformed", q)
	}
}
