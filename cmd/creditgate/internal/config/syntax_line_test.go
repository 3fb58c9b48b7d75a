package config

import (
	"errors"
	"fmt"
	"os"
	"reflect"
	"strings"
	"testing"
)

// A prefix cut after a nested flow collection's last entry (no comma
// follows it) fails with the same problem as a fault further down in the
// enclosing collection: "did not find expected ',' or '}'". The line named
// is the fault's, not the cut's. Each want was counted by hand.
func TestSyntaxErrorLineAfterNestedFlow(t *testing.T) {
	for _, tc := range []struct {
		name, text string
		line       int
	}{
		{"JSON: a bracket after a nested object", `{
  "upstream": "http://x",
  "plan": {
    "edition": "free",
    "calendar": {
      "reset": "1h",
      "location": "UTC"
    },
    "licences": 2]
  }
}
`, 9},
		{"JSON: a sequence's wrong closer after a nested sequence", `{
  "costs": {
    "overrides": [
      {"pattern": "GET /a", "cost": 1},
      {"pattern": "GET /b", "cost": 2}
    ],
    "classes": [
      ["a", "b"],
      ["c",
       "d"
      ],
      ["e"]}
  }
}
`, 12},
		{"leading commas", "listen: a\nalerts:\n  thresholds: [50,\n    80, 90\n    , 95, 99 }\n", 5},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("c.json", []byte(tc.text))
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("error %v, want a positioned one", err)
			}
			if e.Pos.Line != tc.line || strings.Contains(e.Msg, "yaml:") {
				t.Errorf("error %q, want line %d of\n%s", err, tc.line, tc.text)
			}
		})
	}
}

// withBreaks returns text, written with LF line ends, with each one
// replaced by eol; "mixed" cycles through LF, CR and CRLF.
func withBreaks(text, eol string) string {
	if eol != "mixed" {
		return strings.ReplaceAll(text, "\n", eol)
	}
	var b strings.Builder
	for i, line := range strings.SplitAfter(text, "\n") {
		if l, ok := strings.CutSuffix(line, "\n"); ok {
			line = l + []string{"\n", "\r", "\r\n"}[i%3]
		}
		b.WriteString(line)
	}
	return b.String()
}

var eols = []struct{ name, eol string }{
	{"LF", "\n"}, {"CR", "\r"}, {"CRLF", "\r\n"}, {"mixed", "mixed"},
}

// YAML 1.2 breaks lines at CR, LF and CRLF alike, and so does the library:
// a file saved with old-Mac (CR only) or Windows line ends names the same
// line as its LF twin. faultLine cut the text at LF only, so a CR-only
// file was one line and every syntax error in it was on line 1.
func TestSyntaxErrorLineEndings(t *testing.T) {
	for _, le := range eols {
		t.Run(le.name, func(t *testing.T) {
			for _, tc := range syntaxLineCases {
				t.Run(tc.name, func(t *testing.T) { checkSyntaxLine(t, withBreaks(tc.text, le.eol), tc.line) })
			}
		})
	}
}

// A valid file loads the same, positions included, whatever its line ends;
// an invalid one names the same places.
func TestLineEndingsLoadAlike(t *testing.T) {
	example, err := os.ReadFile("../../example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	valid := []string{string(example), `# a comment
upstream: http://127.0.0.1:9000
plan: {edition: professional,
  licences: 10}
tenants:
  acme:
    edition: free
  big: {credits: 100000, concurrency: 20}
costs:
  routes:
    - pattern: "POST /reports"
      cost: 5
      class: complex
alerts:
  thresholds:
    - 50
    - 90
dashboard:
  token: "two
    words"
`}
	invalid := "plan:\n  licences: many\ntenants:\n  t1:\n    credits: 10\n    concurrency: 0\nalerts:\n  thresholds: [90, 80]\n"
	for _, le := range eols {
		t.Run(le.name, func(t *testing.T) {
			for i, text := range valid {
				want, err := Parse("c.yaml", []byte(text))
				if err != nil {
					t.Fatalf("valid[%d] (LF): %v", i, err)
				}
				got, err := Parse("c.yaml", []byte(withBreaks(text, le.eol)))
				if err != nil {
					t.Fatalf("valid[%d]: %v", i, err)
				}
				if !reflect.DeepEqual(got, want) {
					t.Errorf("valid[%d] differs from its LF twin:\n got %+v\nwant %+v", i, got, want)
				}
				mustBuild(t, got)
			}
			_, want := Parse("c.yaml", []byte(invalid))
			_, got := Parse("c.yaml", []byte(withBreaks(invalid, le.eol)))
			if fmt.Sprint(got) != fmt.Sprint(want) || want == nil {
				t.Errorf("errors\n%v\nwant those of the LF twin\n%v", got, want)
			}
		})
	}
}
