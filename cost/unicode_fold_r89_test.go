package cost

import (
	"bufio"
	"net/http"
	"strings"
	"testing"
)

// The loose reading folds ASCII case only. A router that compares segments
// as Java's String.equalsIgnoreCase / regionMatches(true, ...) does (Spring's
// PathPattern with caseSensitive=false; the table already reads COQL's LIMIT
// this way, isLimit's "lımıt") also takes the dotless ı (U+0131) for i, the
// long ſ (U+017F) for s and the Kelvin sign K (U+212A) for k: each
// upper-cases or lower-cases to the ASCII letter. "POST /crm/bulk/v8/wrıte"
// reaches the 500-credit bulk write there, and is priced here as the
// default, 1, outside the bulk class, and not even reported unclean.
func TestUnicodeCaseTwinPriced_r89(t *testing.T) {
	ct, err := NewTable(1,
		Route{Pattern: "POST /crm/bulk/v8/write", Cost: 500, Class: "bulk"},
		Route{Pattern: "POST /crm/v8/{module}/upsert", Cost: 10},
	)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		target string
		want   int64
	}{
		{"/crm/bulk/v8/WRITE", 500},         // ASCII: held
		{"/crm/bulk/v8/wr%C4%B1te", 500},    // ı
		{"/crm/bulk/v8/wr\u0131te", 500},    // ı, raw UTF-8 on the wire
		{"/crm/bul%E2%84%AA/v8/write", 500}, // K (Kelvin)
		{"/crm/v8/Leads/up%C5%BFert", 10},   // ſ
	} {
		raw := "POST " + tc.target + " HTTP/1.1\r\nHost: x\r\n\r\n"
		r, err := http.ReadRequest(bufio.NewReader(strings.NewReader(raw)))
		if err != nil {
			t.Fatalf("%q: %v", tc.target, err)
		}
		p, err := ct.Lookup(r)
		if err != nil {
			t.Errorf("%s: %v", tc.target, err)
			continue
		}
		if p.Credits < tc.want {
			t.Errorf("POST %s: %d credits (%q, unclean %v); a Java-folding router runs it at %d", tc.target, p.Credits, p.Pattern, p.Unclean, tc.want)
		}
	}
}
