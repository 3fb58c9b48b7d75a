package config

import (
	"errors"
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
