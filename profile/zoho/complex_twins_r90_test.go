package zoho

import (
	"bufio"
	"net/http"
	"strings"
	"testing"
)

// Every spelling of a complex API's call that some backend runs as that
// call (the method in lower case, the path in other case, a trailing dot
// or space, Java's ı for i, an escaped letter, a path parameter) is priced
// at least as the call and holds the complex class, in every version the
// table prices, v2.1 too.
func TestComplexTwinsKeepClass_r90(t *testing.T) {
	ct, err := CostTable()
	if err != nil {
		t.Fatal(err)
	}
	body := `{"select_query":"select id from Leads limit 2000","rollback_on_fail":true}`
	calls := []struct {
		path string
		want int64
	}{
		{"/crm/{v}/coql", 3},
		{"/crm/{v}/Leads/1/actions/convert", 5},
		{"/crm/bulk/{v}/read", 50},
		{"/crm/bulk/{v}/write", 500},
		{"/crm/{v}/Deals/1/actions/send_mail", 20},
		{"/crm/{v}/__composite_requests", 2},
	}
	spell := []func(m, p string) (string, string){
		func(m, p string) (string, string) { return m, p },
		func(m, p string) (string, string) { return strings.ToLower(m), p },
		func(m, p string) (string, string) { return m, strings.ToUpper(p) },
		func(m, p string) (string, string) { return m, p + "." },
		func(m, p string) (string, string) { return m, p + "%20" },
		func(m, p string) (string, string) { return m, p + ";jsessionid=1" },
		func(m, p string) (string, string) { return m, strings.Replace(p, "i", "\u0131", 1) },
		func(m, p string) (string, string) { return m, strings.Replace(p, "e", "%65", 1) },
		func(m, p string) (string, string) { return "pOsT", strings.ToUpper(p) + "./" },
	}
	checked := 0
	for _, v := range versions {
		for _, c := range calls {
			for i, s := range spell {
				m, p := s("POST", strings.ReplaceAll(c.path, "{v}", v))
				raw := m + " " + p + " HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: " +
					itoa(len(body)) + "\r\n\r\n" + body
				r, err := http.ReadRequest(bufio.NewReader(strings.NewReader(raw)))
				if err != nil {
					continue // not a request net/http serves
				}
				checked++
				pr, err := ct.Lookup(r)
				if err != nil {
					t.Errorf("%s %s (spelling %d): %v", m, p, i, err)
					continue
				}
				if pr.Credits < c.want || pr.Class != ClassComplex {
					t.Errorf("%s %s (spelling %d): %d credits, class %q (%s); want %d, complex", m, p, i, pr.Credits, pr.Class, pr.Pattern, c.want)
				}
			}
		}
	}
	if want := len(versions) * len(calls) * len(spell); checked != want {
		t.Errorf("%d requests read, of %d: net/http refused some spellings", checked, want)
	}
}

func itoa(n int) string {
	var b [20]byte
	i := len(b)
	for {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
		if n == 0 {
			return string(b[i:])
		}
	}
}
