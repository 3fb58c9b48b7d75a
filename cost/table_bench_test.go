package cost

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

func BenchmarkLookup(b *testing.B) {
	ct, err := NewTable(1,
		Route{Pattern: "GET /crm/v8/{module}", Cost: 1},
		Route{Pattern: "GET /crm/v8/{module}/{id}", Cost: 1},
		Route{Pattern: "POST /crm/v8/{module}/upsert", Cost: 2, Class: "x"},
		Route{Pattern: "GET /crm/v8/settings/modules", Cost: 1},
	)
	if err != nil {
		b.Fatal(err)
	}
	r := httptest.NewRequest("GET", "/crm/v8/Leads/123", nil)
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if p, _ := ct.Lookup(r); p.Module != "Leads" {
			b.Fatal(p)
		}
	}
}

// BenchmarkMatchOneRoute is the middleware row's pricing: one route, a
// clean path that matches it.
func BenchmarkMatchOneRoute(b *testing.B) {
	ct, r := oneRoute(b, "/crm/v8/Leads")
	for i := 0; i < b.N; i++ {
		if p, _ := ct.Match(r); p.Module != "Leads" {
			b.Fatal(p)
		}
	}
}

// BenchmarkLookupOneRoute is the client transport row's pricing: Lookup on
// the same table and path.
func BenchmarkLookupOneRoute(b *testing.B) {
	ct, r := oneRoute(b, "https://api.test/crm/v8/Leads")
	for i := 0; i < b.N; i++ {
		if p, _ := ct.Lookup(r); p.Module != "Leads" {
			b.Fatal(p)
		}
	}
}

// oneRoute returns the bench rows' table, of GET /crm/v8/{module}, and a
// GET of target.
func oneRoute(b *testing.B, target string) (*Table, *http.Request) {
	ct, err := NewTable(1, Route{Pattern: "GET /crm/v8/{module}", Cost: 1})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	return ct, httptest.NewRequest("GET", target, nil)
}
