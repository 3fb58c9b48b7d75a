package config

import (
	"errors"
	"os"
	"testing"
)

// FuzzParse: any input parses or fails with positioned errors, never panics,
// and whatever parses builds or fails the same way.
func FuzzParse(f *testing.F) {
	if data, err := os.ReadFile("../../example.yaml"); err == nil {
		f.Add(data)
	}
	for _, s := range []string{
		"", "{}", "plan: 5", "plan: {edition: free, licences: -1}",
		"tenants: {a: {credits: 10, concurrency: 1}, b: {edition: ultimate}}",
		"costs: {routes: [{pattern: 'POST /x', records: {key: data, per_credit: 0}}]}",
		"costs: {routes: [{pattern: 'GET /{x', cost: 1}, {pattern: 'GET /y', cost: 2, class: bulk}]}",
		"x: &a [1, 2]\ny: *a", "alerts: {thresholds: [80, 80]}", "limits: {max_bytes: 1GiB, max_header_bytes: 12x}",
		"{\"plan\": {\"calendar\": {\"reset\": \"25:00\", \"location\": \"Nowhere/Land\"}}}",
		"---\na: 1\n---\nb: 2\n", "redis: {url: 'redis://u:p@h:port', failure: maybe, instances: -1, credit_leasing: x}", "plan:\n  sub_concurrency:\n    '': 1\n",
		"listen: a\rplan:\r  edition: free\r licences: 2\r", "listen: a\r\nplan: {edition: free\rupstream: \"x\u2028y\": z\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := Parse("f.yaml", data)
		if err != nil {
			checkPositioned(t, err)
			return
		}
		if _, err := Build(c); err != nil {
			checkPositioned(t, err)
		}
	})
}

func checkPositioned(t *testing.T, err error) {
	t.Helper()
	if !errors.Is(err, ErrInvalid) {
		t.Fatalf("error does not wrap ErrInvalid: %v", err)
	}
	var e *Error
	if !errors.As(err, &e) || e.Pos.File != "f.yaml" {
		t.Fatalf("error without a file position: %v", err)
	}
}
