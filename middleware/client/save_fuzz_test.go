package client_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"testing"

	"github.com/creditgate/creditgate/middleware/client"
)

// A single-record body that parses builds, alone, a batch body that parses
// back to the same record, other members and tokens; anything else is left
// alone, never a panic.
func FuzzParseSingle(f *testing.F) {
	for _, s := range []string{`{"data":[{"id":"1","Email":"A@x"}]}`, `{"data":[{"a":1}],"trigger":["workflow"]}`,
		`{"data":[{"a":1},{"b":2}]}`, `{"data":[]}`, `{"data":[1]}`, `{"data":null}`, `[]`, `null`, `{"data":[{"Email":null}]}`,
		`{"data":[{"id":1e2}],"data2":{}}`, `{ "data" : [ { "id" : "1" } ] , "lar_id" : "5" }`, `{"data":[{}]`} {
		f.Add([]byte(s))
	}
	keys := []string{"id", "Email"}
	f.Fuzz(func(t *testing.T, body []byte) {
		raw, rest, tokens, ok := client.ParseSingle(body, "data", keys)
		if !ok {
			return
		}
		if !json.Valid(raw) || !json.Valid(rest) {
			t.Fatalf("invalid parts %q %q", raw, rest)
		}
		b := client.BatchBody("data", rest, [][]byte{raw})
		raw2, rest2, tokens2, ok := client.ParseSingle(b, "data", keys)
		if !ok || !bytes.Equal(raw, raw2) || !bytes.Equal(rest, rest2) || len(tokens) != len(tokens2) {
			t.Fatalf("%q rebuilt as %q: %q %q %v", body, b, raw2, rest2, tokens2)
		}
		var two struct{ Data []json.RawMessage }
		if json.Unmarshal(client.BatchBody("data", rest, [][]byte{raw, raw}), &two) != nil || len(two.Data) != 2 {
			t.Fatalf("a batch of two is not two records")
		}
	})
}

// A batch answer splits into valid one-record answers, or not at all.
func FuzzOneRecords(f *testing.F) {
	for _, s := range []string{`{"data":[{"code":"SUCCESS","status":"success"},{"code":"INVALID_DATA","details":{"json_path":"$.data[1].Last_Name"},"status":"error"}]}`,
		`{"data":[{"status":"success"}],"info":{"more":true}}`, `{"data":[1,2]}`, `{"data":"x"}`, `{}`, `[`} {
		f.Add([]byte(s), 2)
	}
	f.Fuzz(func(t *testing.T, body []byte, n int) {
		if n < 0 || n > 1000 {
			return
		}
		answers, _, ok := client.OneRecords(body, "data", n)
		if !ok {
			return
		}
		for i, a := range answers {
			var one struct{ Data []json.RawMessage }
			if json.Unmarshal(a, &one) != nil || len(one.Data) != 1 {
				t.Fatalf("answer %d of %q: %q", i, body, a)
			}
			if i > 0 && bytes.Contains(a, []byte(`"$.data[`+itoa(int64(i))+`]`)) {
				t.Fatalf("answer %d keeps its batch index: %q", i, a)
			}
		}
	})
}

func FuzzCacheControl(f *testing.F) {
	for _, s := range []string{"no-store", "private, max-age=60", "max-age=\"10\", max-age=5", "no-cache=\"Set-Cookie\"", "max-age=-1", ",,=", "MAX-AGE=99999999999999999999"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		_, _, _, maxAge := client.CacheControl(http.Header{"Cache-Control": {v}})
		if maxAge < -1 {
			t.Fatalf("%q: max-age %d", v, maxAge)
		}
	})
}

func TestUnder(t *testing.T) {
	for _, tc := range []struct {
		pattern, path string
		want          bool
	}{
		{"GET /crm/v8/settings/fields", "/crm/v8/settings/fields", true},
		{"GET /crm/v8/settings/fields", "/crm/v8/settings/fields/42", true},
		{"GET /crm/v8/settings/fields", "/crm/v8/settings/fields/", true},
		{"GET /crm/v8/settings/fields", "/crm/v8/settings/fieldsets", false},
		{"GET /crm/v8/settings/fields", "/crm/v8/settings", false},
		{"GET /crm/v8/{module}", "/crm/v8/Leads", true},
		{"GET /crm/v8/{module}", "/crm/v8/Leads/upsert", true},
		{"GET /crm/v8/{module}", "/crm/v8", false},
		{"GET /crm/v8/{module}", "/crm/v8/", false},
		{"GET /crm/v8/{module}/x", "/crm/v8/Leads/y", false},
		{"GET /crm/{rest...}", "/crm/anything/below", true},
		{"GET api.test/crm/v8/users", "/crm/v8/users", true},
	} {
		if got := client.Under(tc.pattern, tc.path); got != tc.want {
			t.Errorf("Under(%q, %q) = %v", tc.pattern, tc.path, got)
		}
	}
}
