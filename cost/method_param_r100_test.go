package cost

import (
	"net/http/httptest"
	"testing"
)

// PHP reads a query key up to its first NUL byte: php_url_decode turns
// "%00" into a NUL in place, and php_register_variable_ex takes the name's
// strlen. So Symfony and Laravel ($this->query->get('_method')) run
// "POST /x?_method%00=DELETE" and "POST /x?_method%00junk=DELETE" as DELETE,
// as they run "_method=DELETE"; methodKey compares the whole unescaped key
// with "_method" and prices them as the POST.
func TestMethodParamNULKey_r100(t *testing.T) {
	ct, err := NewTable(1,
		Route{Pattern: "POST /crm/{module}/{id}", Cost: 2},
		Route{Pattern: "DELETE /crm/{module}/{id}", Cost: 9},
	)
	if err != nil {
		t.Fatal(err)
	}
	for _, target := range []string{
		"/crm/Leads/1?_method%00=DELETE",
		"/crm/Leads/1?_method%00junk=DELETE",
		"/crm/Leads/1?.method%00x=DELETE", // PHP: '.' -> '_', then the NUL ends the name
		"/crm//Leads/1?_method%00=DELETE", // the slow path
	} {
		r := httptest.NewRequest("POST", target, nil)
		for name, f := range lookupAndMatch(ct, r) {
			if p, err := f(); err != nil || p.Credits != 9 {
				t.Errorf("%s POST %s: %+v %v, want 9 credits (PHP runs it as DELETE)", name, target, p, err)
			}
		}
	}
}
