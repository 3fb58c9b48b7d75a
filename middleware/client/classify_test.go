package client_test

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/creditgate/creditgate/middleware"
	"github.com/creditgate/creditgate/middleware/client"
	"github.com/creditgate/creditgate/profile/zoho"
)

// classifyBody classifies a 429 with body and no limit headers, and checks
// the body is left whole.
func classifyBody(t *testing.T, body string) string {
	t.Helper()
	r, _ := http.NewRequest(http.MethodGet, "http://api.test/", nil)
	resp := response(r, 429, body)
	kind := client.Classify(resp, 1)
	b, _ := io.ReadAll(resp.Body)
	assert.Equal(t, body, string(b), "body left whole")
	return kind
}

// A sub-concurrency refusal of an API class whose user-chosen name is, or
// contains, a word of a vendor's vocabulary (DAILY, LIMIT_EXCEEDED, ...) is
// a concurrency refusal, and a credits refusal stays one whatever the class
// is called: the class is a value, not a code. (Fails with the substring
// classifier: `"DAILY"` anywhere read as HubSpot's daily policy, and
// LIMIT_EXCEEDED anywhere as spent credits.)
func TestClassifyClassNameNotACode(t *testing.T) {
	for _, class := range []string{"DAILY", "LIMIT_EXCEEDED", "REQUEST_LIMIT_EXCEEDED", `"by":"credits"`,
		"SECONDLY", "concurrency", "bulk DAILY"} {
		for _, tc := range []struct {
			by, want string
		}{
			{middleware.BySubConcurrency, "concurrency"},
			{middleware.ByConcurrency, "concurrency"},
			{middleware.ByCredits, "credits"},
		} {
			f := middleware.Refusal{By: tc.by, Class: class, Cost: 1, Limit: 100}
			body := string(zoho.ErrorBodies{}.AppendRefusal(nil, f))
			assert.Equal(t, tc.want, classifyBody(t, body), "%s", body)
			// The default problem-details shape: by at the top level.
			problem := `{"type":"about:blank","title":"Too Many Requests","status":429,"by":"` + tc.by +
				`","class":` + quote(class) + `,"cost":1,"retry_after":1}`
			assert.Equal(t, tc.want, classifyBody(t, problem), "%s", problem)
		}
	}
}

// Unusual or hostile 429 bodies: what ran out is read from the vendor's
// structured fields only. Text that is no JSON, or words inside other
// members' values, say nothing; codes match whatever their case; repeated
// keys that disagree say nothing; a field read before a long message counts.
// (Fails with the substring classifier on every row marked so.)
func TestClassifyUnusualBodies(t *testing.T) {
	long := strings.Repeat("LIMIT_EXCEEDED DAILY ", 200) // past what classify reads
	for _, tc := range []struct {
		want, body string
	}{
		// No JSON: an HTML page or plain text naming the words.
		{"transient", `<html><p>"DAILY" quota, LIMIT_EXCEEDED</p></html>`},         // was credits
		{"transient", `too many concurrent requests`},                              // was concurrency
		{"transient", `{"message":"REQUEST_LIMIT_EXCEEDED is not the code here"}`}, // was credits
		{"transient", `{"message":"the DAILY run is busy","code":"OTHER"}`},
		// Codes in another case.
		{"credits", `{"policyName":"daily"}`},                                          // was transient
		{"concurrency", `{"code":"TOO_MANY_REQUESTS","details":{"by":"Concurrency"}}`}, // was transient
		{"credits", `{"code":"limit_exceeded"}`},                                       // was transient
		// Repeated keys that disagree: ambiguous.
		{"transient", `{"code":"TOO_MANY_REQUESTS","details":{"by":"concurrency"},"details":{"by":"credits"}}`}, // was credits
		{"transient", `{"policyName":"SECONDLY","policyName":"DAILY"}`},                                         // was credits
		// Repeated keys that agree.
		{"concurrency", `{"details":{"by":"concurrency","by":"concurrency"}}`},
		// Huge: the fields come first, a long message after the cut.
		{"concurrency", `{"code":"TOO_MANY_REQUESTS","details":{"by":"sub_concurrency"},"message":"` + long + `"}`}, // was credits
		// A member named like a field, deeper than the vendor puts it.
		{"transient", `{"data":{"policyName":"DAILY","by":"credits"}}`}, // was credits
		// A byte-order mark before the object.
		{"concurrency", "\ufeff" + `{"code":"TOO_MANY_REQUESTS","details":{"by":"concurrency"}}`},
		// Salesforce's array of errors.
		{"credits", `[{"message":"TotalRequests Limit exceeded.","errorCode":"REQUEST_LIMIT_EXCEEDED"}]`},
	} {
		assert.Equal(t, tc.want, classifyBody(t, tc.body), "%.120s", tc.body)
	}
}

func quote(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, c := range s {
		if c == '"' || c == '\\' {
			b.WriteByte('\\')
		}
		b.WriteRune(c)
	}
	b.WriteByte('"')
	return b.String()
}
