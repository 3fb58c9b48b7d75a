package zoho

import (
	"net/http/httptest"
	"testing"
)

// BenchmarkCostTableLookup prices a plain record read against the whole
// table (every version's routes): the pricing step of a Zoho gateway's or
// client's admitted call.
func BenchmarkCostTableLookup(b *testing.B) {
	ct, err := CostTable()
	if err != nil {
		b.Fatal(err)
	}
	r := httptest.NewRequest("GET", "/crm/v8/Leads/123", nil)
	b.ReportAllocs()
	for b.Loop() {
		if p, _ := ct.Lookup(r); p.Credits != 1 {
			b.Fatal(p)
		}
	}
}
