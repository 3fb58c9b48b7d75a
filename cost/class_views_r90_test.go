package cost

import (
	"net/http/httptest"
	"testing"
)

// matchViews gives a price whose dearest reading has no class the class of
// the first reading that has one (f183f8e: which reading a server runs is
// not known). A dearest reading with a class of its own keeps it, and the
// class of another reading, which a case-insensitive backend may run, is
// dropped: "POST /r/special" is priced 5 in class a by ServeMux's reading
// ({id}); a backend that ignores case runs it as /r/Special, class b, whose
// cap the request never holds. A Price carries one class, so b's cap
// (say 1, for a slow report) is passed by as many such calls as a's allows.
func TestOtherReadingsClassDropped_r90(t *testing.T) {
	ct, err := NewTable(1,
		Route{Pattern: "POST /r/{id}", Cost: 5, Class: "a"},
		Route{Pattern: "POST /r/Special", Cost: 1, Class: "b"},
	)
	if err != nil {
		t.Fatal(err)
	}
	// Both readings are seen: the exact path is priced by its one.
	if p, err := ct.Lookup(httptest.NewRequest("POST", "/r/Special", nil)); err != nil || p.Class != "b" {
		t.Fatalf("POST /r/Special: %+v, %v", p, err)
	}
	p, err := ct.Lookup(httptest.NewRequest("POST", "/r/special", nil))
	if err == nil {
		t.Errorf("POST /r/special: %d credits, class %q only (%s, unclean %v); its readings are in classes a "+
			"(ServeMux: {id}) and b (a case-insensitive backend: /r/Special), and it holds b's cap never",
			p.Credits, p.Class, p.Pattern, p.Unclean)
	}
}
