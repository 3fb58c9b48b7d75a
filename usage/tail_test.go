package usage

import "testing"

// The tail a new key folds into Other is the smallest count, ties broken
// by key, the empty key ("" : a call with no application, say) among them:
// smaller took a count keyed "" for a new key's first count (which has no
// key and loses every tie), so neither of two tied counts, "" and "x", was
// smaller than the other, and which one folded was the map's iteration
// order. TestTenantIndexMatchesMap failed about once in ten runs on it (two
// statistics fed the same events folded different keys).
func TestTailTieWithEmptyKey(t *testing.T) {
	for range 200 {
		m := map[string]*Count{}
		for _, k := range []string{"", "x", "y"} {
			m[k] = &Count{Key: k, Credits: 1, Calls: 1}
		}
		m["y"].Credits = 5
		admit(m, "new", false, Count{Credits: 3, Calls: 1}, 3)
		if m["x"] != nil || m[""] == nil || m["new"] == nil {
			t.Fatalf("kept %v, want x folded (of \"\" and x, tied, the greater key is the smaller count)", mapKeys(m))
		}
		if o := m[Other]; o == nil || o.Credits != 1 || o.Calls != 1 {
			t.Fatalf("Other %+v, want x's count", o)
		}
	}
	// A new key's first count still loses a tie: it is the tail.
	m := map[string]*Count{"": {Key: "", Credits: 1, Calls: 1}}
	if c := admit(m, "new", false, Count{Credits: 1, Calls: 1}, 1); c != m[Other] || m[""] == nil {
		t.Fatalf("a new key tied with the tail got a row: %v", mapKeys(m))
	}
}

func mapKeys(m map[string]*Count) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	return ks
}
