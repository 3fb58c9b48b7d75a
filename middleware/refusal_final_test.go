package middleware

import "testing"

// Final is what bodies test for a 403: the refusals no wait admits, and
// only those.
func TestRefusalFinal(t *testing.T) {
	for by, want := range map[string]bool{
		ByCost: true, ByUnits: true,
		ByCredits: false, ByConcurrency: false, BySubConcurrency: false, ByTenants: false, ByUnavailable: false,
	} {
		if got := (Refusal{By: by}).Final(); got != want {
			t.Errorf("Refusal{By: %q}.Final() = %v, want %v", by, got, want)
		}
	}
}
