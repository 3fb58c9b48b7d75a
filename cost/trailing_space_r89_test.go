package cost

import (
	"net/http/httptest"
	"testing"
)

// The loose reading drops trailing dots ("read." is "read" to IIS and
// Windows, ASP.NET and Express with strict off), but Windows' path
// normalization, which it follows there, drops trailing spaces with them:
// "If the path doesn't end in a separator, all trailing periods and spaces
// (U+0020) are removed". "POST /bulk/write%20" and "/bulk/write.%20" reach
// the bulk write on IIS and are priced as the default here.
func TestTrailingSpaceLikeTrailingDot_r89(t *testing.T) {
	ct, err := NewTable(1, Route{Pattern: "POST /bulk/write", Cost: 500, Class: "bulk"})
	if err != nil {
		t.Fatal(err)
	}
	for _, target := range []string{"/bulk/write.", "/bulk/write%20", "/bulk/write.%20", "/bulk/write%20.", "/bulk/write%20%20"} {
		p, err := ct.Lookup(httptest.NewRequest("POST", target, nil))
		if err != nil {
			t.Fatal(err)
		}
		if p.Credits != 500 || p.Class != "bulk" || !p.Unclean {
			t.Errorf("POST %s: %+v, want the bulk write's 500, unclean", target, p)
		}
	}
}
