package zoho

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/creditgate/creditgate/cost"
)

// QueryLimitCost prices COQL queries: it reads a JSON body of at most
// maxBody bytes, takes the row LIMIT of the query string in field (a
// SQL-like "... LIMIT n", "LIMIT offset, n" or "LIMIT n OFFSET m";
// defaultLimit when absent; a "limit" in a quoted literal does not count;
// the largest, if comments or a second statement give more than one) and
// charges the cost of the first tier whose UpTo is >= that limit (the last
// tier beyond them all, and for a query with a literal left open). Its bounds
// are the cheapest and dearest tiers. No tiers, or a maxBody that is not
// positive, give a Pricer that always returns cost.ErrArgs.
func QueryLimitCost(field string, defaultLimit int64, maxBody int64, tiers ...Tier) cost.Pricer {
	if len(tiers) == 0 || maxBody <= 0 {
		return cost.Pricer{Func: func(*http.Request) (int64, error) { return 0, cost.ErrArgs }}
	}
	tiers = append([]Tier(nil), tiers...)
	f := func(r *http.Request) (int64, error) {
		buf, err := cost.ReadBody(r, maxBody)
		if err != nil {
			return 0, err
		}
		q, err := queryField(buf, field)
		if err != nil {
			return 0, err
		}
		limit, err := queryLimit(q, defaultLimit)
		if err != nil {
			return 0, err
		}
		for _, t := range tiers {
			if limit <= t.UpTo {
				return t.Cost, nil
			}
		}
		return tiers[len(tiers)-1].Cost, nil
	}
	lo, hi := tiers[0].Cost, tiers[0].Cost
	for _, t := range tiers {
		lo, hi = min(lo, t.Cost), max(hi, t.Cost)
	}
	return cost.Pricer{Func: f, Min: lo, Max: hi, MaxBody: maxBody}
}

// queryField returns the string field of the JSON object buf ("" if absent;
// an empty body is an empty object). As in cost.RecordsCost, field twice, or
// a key that is field but for case, is malformed: which one upstream runs is
// its parser's choice, and the map below would keep the last.
func queryField(buf []byte, field string) (string, error) {
	var m map[string]json.RawMessage
	if len(buf) == 0 {
		buf = []byte("{}")
	}
	if err := json.Unmarshal(buf, &m); err != nil {
		return "", fmt.Errorf("%w: %v", cost.ErrMalformedBody, err)
	}
	if err := checkKeys(buf, field); err != nil {
		return "", err
	}
	var q string
	if raw, ok := m[field]; ok {
		if err := json.Unmarshal(raw, &q); err != nil {
			return "", fmt.Errorf("%w: %s: %v", cost.ErrMalformedBody, field, err)
		}
	}
	return q, nil
}

// checkKeys reports field twice, or a key that is field but for case, among
// the top-level keys of the valid JSON object (or null) buf; duplicates of
// other keys are upstream's to refuse.
func checkKeys(buf []byte, field string) error {
	dec := json.NewDecoder(bytes.NewReader(buf))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil // null
	}
	seen := false
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return fmt.Errorf("%w: %v", cost.ErrMalformedBody, err)
		}
		switch k, _ := tok.(string); {
		case k == field && seen:
			return fmt.Errorf("%w: %q appears twice", cost.ErrMalformedBody, field)
		case k == field:
			seen = true
		case strings.EqualFold(k, field):
			return fmt.Errorf("%w: a key is %q but for case", cost.ErrMalformedBody, field)
		}
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			return fmt.Errorf("%w: %v", cost.ErrMalformedBody, err)
		}
	}
	return nil
}

// Tier is one price band of QueryLimitCost.
type Tier struct{ UpTo, Cost int64 }

// queryLimit returns the largest row count a LIMIT clause of q asks for,
// outside its quoted literals, or def if there is none. The query is read
// twice, with SQL comments ("--" to the end of the line, "/* */") and
// without, and the larger count counts: whether COQL honours comments is
// unconfirmed, and either reading alone lets a comment hide the real LIMIT
// ("limit 2000 -- limit 1"; "/* it's */ limit 2000 /* it's */"). A literal
// left open gives math.MaxInt64, the last tier: we cannot tell where
// upstream ends it, so a LIMIT after the quote may be in it or not, and
// only the top price is never too low (an error would let shadow mode pass
// the query unmetered). The query is malformed only if every reading is.
//
// A backslash in a literal is read both ways too when the query has one:
// escaping the next byte, and as text (SQL's own literals have no
// escapes), or "c = 'x\' limit 2000 -- '" would hide its LIMIT from a
// parser that honours comments but not backslashes. A literal left open
// without backslash escapes is not that parser's reading (it would refuse
// the query), so such a reading adds nothing.
func queryLimit(q string, def int64) (int64, error) {
	comments := strings.Contains(q, "--") || strings.Contains(q, "/*")
	backslash := strings.IndexByte(q, '\\') >= 0
	n, err := limitOf(q, false, true, def)
	for _, rd := range [...]struct{ comments, backslash, ok bool }{
		{true, true, comments},
		{false, false, backslash},
		{true, false, comments && backslash},
	} {
		if !rd.ok {
			continue
		}
		m, errr := limitOf(q, rd.comments, rd.backslash, def)
		switch {
		case errr != nil:
		case err != nil:
			n, err = m, nil
		default:
			n = max(n, m)
		}
	}
	return n, err
}

// errOpenLiteral is limitOf's for a literal left open when backslashes
// escape nothing.
var errOpenLiteral = fmt.Errorf("%w: a literal is left open", cost.ErrMalformedBody)

// limitOf is queryLimit for one reading of q: the largest count of its
// LIMIT clauses, def if it has none, math.MaxInt64 if a literal is left
// open (errOpenLiteral without backslash escapes). A LIMIT without a count
// is malformed, wherever it is: COQL wants a reserved word used as a field
// name quoted.
func limitOf(q string, comments, backslash bool, def int64) (int64, error) {
	q, ok := stripLiterals(q, comments, backslash)
	switch {
	case !ok && backslash:
		return math.MaxInt64, nil
	case !ok:
		return 0, errOpenLiteral
	}
	// The words after a LIMIT: a count, or an offset, a comma and a count.
	num := func(w string, ok bool) (int64, bool) {
		if !ok {
			return 0, false
		}
		// Past int64, ParseInt returns the bound and ErrRange: a count
		// beyond every tier, so the last tier, not a malformed body.
		n, err := strconv.ParseInt(w, 10, 64)
		return n, (err == nil || errors.Is(err, strconv.ErrRange)) && n >= 0
	}
	limit, found := def, false
	for i := 0; ; {
		w, next, ok := nextWord(q, i)
		if !ok {
			return limit, nil
		}
		i = next
		if !isLimit(w) {
			continue
		}
		// The words after it are read again as words of their own, as
		// the whole list of words was.
		w1, j, ok1 := nextWord(q, i)
		n, ok := num(w1, ok1)
		if w2, k, ok2 := nextWord(q, j); ok && ok2 && w2 == "," { // LIMIT offset, count
			w3, _, ok3 := nextWord(q, k)
			n, ok = num(w3, ok3)
		}
		if !ok {
			return 0, fmt.Errorf("%w: bad LIMIT in query", cost.ErrMalformedBody)
		}
		if !found || n > limit {
			limit, found = n, true
		}
	}
}

// nextWord returns the first word queryLimit reads in q from offset i on,
// and the offset after it: a run of letters, digits and "_.+-", or a
// comma. Every other character separates, not only white space: "(c =
// 1)limit 2000" has a LIMIT, as in SQL, and so has "limit\x1f2000" or
// "limit/**/2000". Which characters upstream's lexer skips is unknown;
// splitting at all of them finds every LIMIT it could see, and only counts
// it might read as something else. Words are read one at a time, with no
// list of them: a query of commas would need 16 bytes a byte.
func nextWord(q string, i int) (w string, next int, ok bool) {
	for i < len(q) {
		r, n := utf8.DecodeRuneInString(q[i:])
		switch {
		case r == ',':
			return ",", i + n, true
		case isWordRune(r):
			j := i + n
			for j < len(q) {
				r, m := utf8.DecodeRuneInString(q[j:])
				if !isWordRune(r) {
					break
				}
				j += m
			}
			return q[i:j], j, true
		}
		i += n
	}
	return "", i, false
}

func isWordRune(r rune) bool {
	return unicode.IsLetter(r) || unicode.IsDigit(r) || strings.ContainsRune("_.+-", r)
}

// isLimit reports whether w is "limit" but for case, as Java's
// equalsIgnoreCase compares (each rune's upper or lower case the same):
// "lımıt", with a dotless i, is LIMIT to a Java parser.
func isLimit(w string) bool {
	if len(w) < 5 || len(w) > 10 { // five runes of at most two bytes
		return false
	}
	i := 0
	for _, r := range w {
		if i == 5 {
			return false
		}
		c := rune("limit"[i])
		if r != c && unicode.ToUpper(r) != unicode.ToUpper(c) && unicode.ToLower(r) != c {
			return false
		}
		i++
	}
	return i == 5
}

// stripLiterals replaces each single- or double-quoted literal of q by a
// space, and with comments each SQL comment too, lexed left to right so
// that a quote in a comment opens no literal and a comment marker in a
// literal is text; it reports false if a literal is left open (a comment
// left open runs to the end). In a literal a backslash escapes the next
// byte when backslash is set, as in 'it\'s'; a doubled quote (SQL's
// escape) reads as two adjacent literals, which blanks the same text.
func stripLiterals(q string, comments, backslash bool) (string, bool) {
	if !strings.ContainsAny(q, `'"`) && !comments {
		return q, true
	}
	b := make([]byte, 0, len(q))
	for i := 0; i < len(q); i++ {
		c := q[i]
		switch {
		case c == '\'' || c == '"':
			j := i + 1
			for ; j < len(q) && q[j] != c; j++ {
				if backslash && q[j] == '\\' {
					j++
				}
			}
			if j >= len(q) {
				return "", false
			}
			i = j
		case comments && strings.HasPrefix(q[i:], "--"):
			j := strings.IndexAny(q[i:], "\r\n")
			if j < 0 {
				j = len(q) - i
			}
			i += j - 1 // the line break is kept
		case comments && strings.HasPrefix(q[i:], "/*"):
			j := strings.Index(q[i+2:], "*/")
			if j < 0 {
				j = len(q) - i - 4
			}
			i += j + 3
		default:
			b = append(b, c)
			continue
		}
		b = append(b, ' ')
	}
	return string(b), true
}
