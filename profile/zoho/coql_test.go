package zoho

import (
	"encoding/json"
	"errors"
	"io"
	"math"
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"

	"github.com/creditgate/creditgate/cost"
)

// COQL pricing, moved here from package cost with its tests.

func TestQueryLimit(t *testing.T) {
	for q, want := range map[string]int64{
		"select a from b":                  200,
		"select a from b limit 5":          5,
		"select a from b LIMIT 10, 20":     20,
		"select a from b limit 10,20":      20,
		"select a from b limit 7 offset 3": 7,
		// A "limit" in a literal is not the LIMIT clause.
		`select a from b where c = ' limit 1 '`:             200,
		`select a from b where c = 'it''s, limit 1'`:        200,
		`select a from b where c = 'it\'s limit 1' limit 7`: 7,
		`select a from b where c = "limit 1" and d = '\\'`:  200,
		`select 'limit' from b where c = 'x'limit 3`:        3,
		// An open literal: top tier, whatever follows the quote.
		`select a from b where c = 'x limit 1`:   math.MaxInt64,
		`select a from b where c = 'x\' limit 1`: math.MaxInt64,
		`select a from b limit 1 "`:              math.MaxInt64,
	} {
		got, err := queryLimit(q, 200)
		if err != nil || got != want {
			t.Errorf("%q: %d %v", q, got, err)
		}
	}
	p := QueryLimitCost("q", 200, 1<<10, Tier{1, 1}, Tier{200, 5}, Tier{2000, 9})
	if p.Min != 1 || p.Max != 9 || p.MaxBody != 1<<10 {
		t.Errorf("bounds %d..%d, max body %d", p.Min, p.Max, p.MaxBody)
	}
	for q, want := range map[string]int64{
		`select a from b limit 1`:               1,
		`select a from b where c = ' limit 1 '`: 5,
		`select a from b where c = ' limit 1`:   9,
	} {
		body, _ := json.Marshal(map[string]string{"q": q})
		if c, err := p.Func(httptest.NewRequest("POST", "/", strings.NewReader(string(body)))); err != nil || c != want {
			t.Errorf("%q: cost %d %v, want %d", q, c, err, want)
		}
	}
	for _, q := range []string{"select limit", "limit x", "limit 1,", "limit -3"} {
		if _, err := queryLimit(q, 1); !errors.Is(err, cost.ErrMalformedBody) {
			t.Errorf("%q: %v", q, err)
		}
	}
	if _, err := QueryLimitCost("q", 200, 1<<10).Func(httptest.NewRequest("POST", "/", nil)); !errors.Is(err, cost.ErrArgs) {
		t.Errorf("no tiers: %v", err)
	}
}

func FuzzQueryLimitCost(f *testing.F) {
	f.Add([]byte(`{"select_query":"select a from b limit 3, 900"}`))
	f.Add([]byte(`{"select_query":"select a from b where c = ' limit 1 '"}`))
	f.Add([]byte(`{"select_query":"select a from b where c = 'x limit 1"}`))
	f.Add([]byte(`{"select_query":"select a from b where c = 'it\\'s limit 1' limit 7"}`))
	f.Add([]byte(`{"select_query":"select a from b where c = \"it''s\" limit 1"}`))
	f.Add([]byte(`{"data":[1,2,3]}`))
	f.Add([]byte(`[]`))
	// What TestQueryLimitOutOfRange, TestQueryLimitSeparators and
	// TestQueryLimitComments found.
	f.Add([]byte(`{"select_query":"select a from b limit 99999999999999999999"}`))
	f.Add([]byte(`{"select_query":"select a from b limit\u001f2000"}`))
	f.Add([]byte(`{"select_query":"select a from b l\u0131m\u0131t 2000;"}`))
	f.Add([]byte(`{"select_query":"select a from b limit 2000 -- limit 1"}`))
	f.Add([]byte(`{"select_query":"select a from b /* it's */ limit 2000 /* it's */"}`))
	f.Add([]byte(`{"select_query":"select a from b where c = '--' limit 900 /* limit 1"}`))
	f.Add([]byte("select a from b -- it's\r/* x"))
	f.Fuzz(func(t *testing.T, body []byte) {
		r := httptest.NewRequest("POST", "/", strings.NewReader(string(body)))
		c, err := QueryLimitCost("select_query", 200, 256, Tier{200, 1}, Tier{1000, 2}, Tier{2000, 3}).Func(r)
		if err == nil && (c < 1 || c > 3) {
			t.Fatalf("coql cost %d", c)
		}
		if got, _ := io.ReadAll(r.Body); string(got) != string(body) {
			t.Fatal("body not restored")
		}
		// Nothing before a LIMIT on a line of its own hides it: no
		// literal, no comment, however left open; unless the query read
		// without comments is malformed, when only the reading with them
		// counts (TestQueryLimitOpenCommentThenLimit_r89: "/*limit").
		q2 := string(body) + "\nlimit 2000"
		_, plainErr := limitOf(q2, false, true, 200)
		if n, err := queryLimit(q2, 200); err == nil && n < 2000 && plainErr == nil {
			t.Fatalf("%q then limit 2000: limit %d", body, n)
		}
		// No literal hides a LIMIT, however it is escaped, nor fakes one
		// unless it is escaped with backslashes: read without them
		// (TestQueryLimitBackslashReadings), such a literal ends early,
		// and what follows may be a LIMIT, or a comment hiding one.
		lits := []string{`'` + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(string(body)) + `'`}
		exact := []bool{!strings.ContainsAny(string(body), `\'`)}
		if !strings.Contains(string(body), `\`) {
			lits = append(lits, `"`+strings.ReplaceAll(string(body), `"`, `""`)+`"`)
			exact = append(exact, true)
		}
		for i, lit := range lits {
			q := "select a from b where c = " + lit
			if n, err := queryLimit(q, 200); n < 200 || exact[i] && n != 200 || err != nil {
				t.Fatalf("%q: limit %d %v, want the default", q, n, err)
			}
			if n, err := queryLimit(q+" limit 7", 200); n < 7 || exact[i] && n != 7 || err != nil {
				t.Fatalf("%q limit 7: limit %d %v", q, n, err)
			}
		}
	})
}

// A LIMIT glued to a closing parenthesis is still the LIMIT clause: SQL
// tokenizers end a token at a parenthesis, so pricing it as no LIMIT (the
// default, 200) would charge a 2,000-row query the cheapest tier.
func TestQueryLimitAfterParenthesis(t *testing.T) {
	for q, want := range map[string]int64{
		"select a from b where (c = 1)limit 2000":        2000,
		"select a from b where ((c = 1))LIMIT 10, 2000":  2000,
		"select a from b where (c = 1) limit 2000":       2000,
		"select count(a) from b where (c = 1)limit 1500": 1500,
		"select count(a) from b":                         200,
	} {
		if got, err := queryLimit(q, 200); err != nil || got != want {
			t.Errorf("%q: limit %d %v, want %d", q, got, err, want)
		}
	}
}

// A body with the query field twice, or with a key that is it but for case,
// is malformed, as for cost.RecordsCost: which one upstream runs is its
// parser's choice, and encoding/json's map keeps the last, so
// {"select_query":"... limit 2000","select_query":"... limit 1"} was priced
// at 1 credit for a query upstream may run with 2,000 rows.
func TestQueryFieldTwice(t *testing.T) {
	p := QueryLimitCost("select_query", 200, 1<<10, Tier{200, 1}, Tier{1000, 2}, Tier{2000, 3})
	for _, body := range []string{
		`{"select_query":"select a from b limit 2000","select_query":"select a from b limit 1"}`,
		`{"select_query":"select a from b limit 2000","select\u005fquery":"select a from b limit 1"}`,
		`{"select_query":"select a from b limit 1","Select_Query":"select a from b limit 2000"}`,
		`{"Select_Query":"select a from b limit 2000"}`,
	} {
		c, err := p.Func(httptest.NewRequest("POST", "/", strings.NewReader(body)))
		if !errors.Is(err, cost.ErrMalformedBody) {
			t.Errorf("%s: cost %d %v, want ErrMalformedBody", body, c, err)
		}
	}
	for body, want := range map[string]int64{
		`{"select_query":"select a from b limit 2000","other":"limit 1"}`: 3,
		`{"other":{"select_query":"x"},"select_query":"select a from b"}`: 1,
		`null`: 1,
		``:     1,
	} {
		if c, err := p.Func(httptest.NewRequest("POST", "/", strings.NewReader(body))); err != nil || c != want {
			t.Errorf("%s: cost %d %v, want %d", body, c, err, want)
		}
	}
	for _, body := range []string{`[]`, `{"select_query":1}`, `{} {}`, `{"select_query":"x"`} {
		if c, err := p.Func(httptest.NewRequest("POST", "/", strings.NewReader(body))); !errors.Is(err, cost.ErrMalformedBody) {
			t.Errorf("%s: cost %d %v, want ErrMalformedBody", body, c, err)
		}
	}
}

// coqlCost prices the COQL query q with the v8 table's pricer.
func coqlCost(q string) (int64, error) {
	body, _ := json.Marshal(map[string]string{"select_query": q})
	p := QueryLimitCost("select_query", 200, MaxBody, Tier{200, 1}, Tier{1000, 2}, Tier{2000, 3})
	return p.Func(httptest.NewRequest("POST", "/crm/v8/coql", strings.NewReader(string(body))))
}

// A LIMIT past int64 is a LIMIT beyond every tier: the last tier, as the
// doc says, like "limit 9223372036854775807". It was a malformed body,
// which shadow mode passes on unmetered.
func TestQueryLimitOutOfRange(t *testing.T) {
	for q, want := range map[string]int64{
		"select a from b limit 9223372036854775807":      3,
		"select a from b limit 9223372036854775808":      3,
		"select a from b limit 99999999999999999999":     3,
		"select a from b limit +99999999999999999999":    3,
		"select a from b limit 1, 99999999999999999999":  3,
		"select a from b limit 99999999999999999999, 10": 1,
	} {
		if c, err := coqlCost(q); err != nil || c != want {
			t.Errorf("%q: cost %d %v, want %d", q, c, err, want)
		}
	}
	for _, q := range []string{"select a from b limit -99999999999999999999", "select a from b limit 1, -99999999999999999999"} {
		if c, err := coqlCost(q); !errors.Is(err, cost.ErrMalformedBody) {
			t.Errorf("%q: cost %d %v, want ErrMalformedBody", q, c, err)
		}
	}
}

// Only Go's white space, commas and parentheses separated words, so a
// LIMIT set off by another character was no LIMIT (the default, 1 credit)
// or a malformed one: a control character such as U+001F (white space to
// Java's Character.isWhitespace), a zero-width space, a comment glued to
// it, a trailing semicolon. What upstream's lexer takes for a separator
// is unknown; reading every such character as one prices each query at
// least as high as any of those readings. So does reading "limit" with
// Java's case folding, where "lımıt" (dotless i) equals "LIMIT".
func TestQueryLimitSeparators(t *testing.T) {
	for q, want := range map[string]int64{
		"select a from b limit\x1f2000":         3,
		"select a from b\x1flimit\x1f2000":      3,
		"select a from b limit\u200b2000":       3,
		"select a from b limit\ufeff2000":       3,
		"select a from b limit/**/2000":         3,
		"select a from b limit 2000;":           3,
		"select a from b limit 10,\x1f2000":     3,
		"select a from b where c=1 LIMIT\v1500": 3,
		"select a from b lımıt 2000":            3,
		"select a from b LİMİT 900":             2,
		// Still not a LIMIT: a longer word, a dotted name.
		"select a from b where unlimited = 2000": 1,
		"select a from b where x.limit = 2000":   1,
	} {
		if c, err := coqlCost(q); err != nil || c != want {
			t.Errorf("%q: cost %d %v, want %d", q, c, err, want)
		}
	}
}

// A LIMIT in an SQL comment, or a quote in one, decided the price: the
// last LIMIT of the text won, comments included, so "limit 2000 -- limit
// 1" cost 1 credit, and a quote inside a comment opened a literal that hid
// the real LIMIT. Whether COQL honours comments is unconfirmed: the
// largest count of the query read with comments and without is never too
// low, whichever upstream does.
func TestQueryLimitComments(t *testing.T) {
	for q, want := range map[string]int64{
		"select a from b limit 2000 -- limit 1":               3,
		"select a from b limit 2000 /* limit 1 */":            3,
		"select a from b limit 2000 -- no limit here":         3,
		"select a from b /* it's */ limit 2000 /* it's */":    3,
		"select a from b -- it's\nlimit 2000 -- it's":         3,
		"select a from b -- it's\rlimit 2000 -- it's":         3,
		"select a from b /* limit 2000 */ limit 1":            3,
		"select a from b where c = 5--3 limit 2000":           3,
		"select a from b where c = 1 -- x\nlimit 1500":        3,
		"select a from b limit 2000; select a from b limit 1": 3,
		"select a from b limit 10, 900 -- limit 1":            2,
		// A comment marker inside a literal is text.
		"select a from b where c = '--' limit 2000":    3,
		"select a from b where c = '/*' limit 2000":    3,
		"select a from b where c = 'x -- limit 1'":     1,
		"select a from b where c = '/* x' limit 1000 ": 2,
		// With comments honoured, an unclosed one runs to the end.
		"select a from b limit 900 /* limit 1": 2,
	} {
		if c, err := coqlCost(q); err != nil || c != want {
			t.Errorf("%q: cost %d %v, want %d", q, c, err, want)
		}
	}
	// Read with comments and without, the default applies when either
	// reading has no LIMIT.
	for q, want := range map[string]int64{
		"select a from b -- limit 1":    500,
		"select a from b /* limit 1 */": 500,
		"select a from b limit 1":       1,
	} {
		if n, err := queryLimit(q, 500); err != nil || n != want {
			t.Errorf("%q: limit %d %v, want %d", q, n, err, want)
		}
	}
}

// A backslash before a quote escaped it in every reading, so a LIMIT
// between 'x\' and a quote hidden in a comment was in a literal to the
// pricer: "c = 'x\' limit 2000 -- '" cost 1 credit. To a parser that
// honours comments but not backslash escapes (SQL's own literals have
// none), 'x\' is the whole literal and the query reads 2,000 rows. Reading
// backslashes both ways prices it at the dearer; a reading that leaves a
// literal open without them is not upstream's, so it adds nothing.
func TestQueryLimitBackslashReadings(t *testing.T) {
	for q, want := range map[string]int64{
		`select a from b where c = 'x\' limit 2000 -- '`:        3,
		`select a from b where c = 'x\' limit 2000 /* ' */`:     3,
		`select a from b where c = "x\" limit 900 -- "`:         2,
		`select a from b where c = 'x\' limit 2000 --'`:         3,
		`select a from b where c = 'x\\' limit 2000 -- '`:       3,
		`select a from b where c = 'it\'s' limit 5`:             1,
		`select a from b where c = 'O\'Brien' and d = 'x'`:      1,
		`select a from b where c = 'a\'b' and d = 'x' limit 10`: 1,
	} {
		if c, err := coqlCost(q); err != nil || c != want {
			t.Errorf("%q: cost %d %v, want %d", q, c, err, want)
		}
	}
}

// QueryLimitCost read a query into a slice of all its words, 16 bytes of
// string header per word however short (a comma is one), so a MaxBody body
// of commas or one-letter words made it allocate about 95 or 50 times the
// body: 400 MB for one 4 MiB COQL call. Its allocation is now a small
// multiple of the body whatever the query's words (sizes, not timing).
func TestQueryLimitCostMemory(t *testing.T) {
	p := QueryLimitCost("select_query", 200, MaxBody, Tier{200, 1}, Tier{1000, 2}, Tier{2000, 3})
	for _, tc := range []struct {
		name, query string
		want        int64
	}{
		{"words", strings.Repeat("a ", 500000) + "limit 1500", 3},
		{"limits", strings.Repeat("limit 1 ", 125000), 1},
		{"commas", strings.Repeat(",", 1000000) + " limit 900", 2},
		{"offsets", strings.Repeat("limit 1, 2 ", 90000), 1},
	} {
		body := `{"select_query":"select a from b where ` + tc.query + `"}`
		var c int64
		var err error
		allocated := bytesAllocated(func() {
			c, err = p.Func(httptest.NewRequest("POST", "/crm/v8/coql", strings.NewReader(body)))
		})
		if err != nil || c != tc.want {
			t.Errorf("%s: cost %d %v, want %d", tc.name, c, err, tc.want)
		}
		if perByte := float64(allocated) / float64(len(body)); perByte > 16 {
			t.Errorf("%s: %d bytes allocated for a %d-byte body, %.1f a byte", tc.name, allocated, len(body), perByte)
		}
	}
}

// bytesAllocated returns how many bytes f allocates.
func bytesAllocated(f func()) uint64 {
	var m0, m1 runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&m0)
	f()
	runtime.ReadMemStats(&m1)
	return m1.TotalAlloc - m0.TotalAlloc
}
