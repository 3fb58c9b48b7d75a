package client

import (
	"strconv"
	"testing"
)

// rulesOf finds what the map holds, whether it scans (a few routes) or
// looks up (more): the rules of every pattern added, nil for any other,
// including a prefix, an extension and the empty pattern.
func TestRulesOfIsTheMap(t *testing.T) {
	for n := 0; n <= 2*fewRules+1; n++ {
		s := &saver{rules: map[string]*routeRules{}}
		for i := range n {
			p := "GET /crm/v8/r" + strconv.Itoa(i)
			if rr := s.add(p); rr != s.add(p) {
				t.Fatalf("n %d: %q added twice gave two rules", n, p)
			}
		}
		probes := []string{"", "GET /crm/v8/r", "GET /crm/v8/r" + strconv.Itoa(n), "GET /crm/v8/r0x"}
		for i := range n {
			probes = append(probes, "GET /crm/v8/r"+strconv.Itoa(i))
		}
		for _, p := range probes {
			// A copy of its own: not the added string's pointer.
			q := string([]byte(p))
			if got, want := s.rulesOf(q), s.rules[p]; got != want {
				t.Fatalf("n %d: rulesOf(%q) = %p, the map has %p", n, p, got, want)
			}
		}
	}
}
