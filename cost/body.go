package cost

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// Body-cost errors.
var (
	ErrMalformedBody = errors.New("cost: malformed request body")
	ErrArgs          = errors.New("cost: bad cost function arguments")
)

// BodyTooLargeError is returned when a cost function would have to read more
// than Limit bytes of a body to price it.
type BodyTooLargeError struct{ Limit int64 }

func (e *BodyTooLargeError) Error() string {
	return fmt.Sprintf("cost: request body larger than %d bytes", e.Limit)
}

// readBody reads up to maxBody bytes of r.Body and puts back a body that yields
// everything the client sent, read or not, so the next handler sees it whole;
// if reading failed, it yields the bytes read and then the same error.
func readBody(r *http.Request, maxBody int64) ([]byte, error) {
	if r.Body == nil || r.Body == http.NoBody {
		return nil, nil
	}
	orig := r.Body
	// One byte past maxBody tells a longer body from one of maxBody bytes;
	// no body is longer than MaxInt64, and maxBody+1 would wrap there.
	lim := maxBody
	if lim < math.MaxInt64 {
		lim++
	}
	buf, err := io.ReadAll(io.LimitReader(orig, lim))
	rest := io.Reader(bytes.NewReader(buf))
	switch {
	case err != nil:
		// Replay the bytes read, then the same error: a clean EOF would pass
		// a truncated body on as if it were whole.
		rest = io.MultiReader(rest, errReader{err})
	case int64(len(buf)) > maxBody:
		rest = io.MultiReader(rest, orig)
	}
	r.Body = readCloser{rest, orig}
	if err != nil {
		return nil, fmt.Errorf("cost: reading body: %w", err)
	}
	if int64(len(buf)) > maxBody {
		return nil, &BodyTooLargeError{Limit: maxBody}
	}
	return buf, nil
}

type readCloser struct {
	io.Reader
	c io.Closer
}

func (rc readCloser) Close() error { return rc.c.Close() }

// errReader fails every read with err.
type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }

// RecordsCost returns a CostFunc for multi-record writes: ceil(records/perCredit)
// credits, at least 1 and at most maxCredits, where records is the length of the
// "data" array of a JSON body of at most maxBody bytes. The body is restored for
// the next reader. A body without "data" costs 1; a malformed body is an error
// wrapping ErrMalformedBody, and so is one whose top-level object has "data"
// twice or a key that differs from "data" only in case (upstream parsers
// disagree on which one counts). An oversized body is a *BodyTooLargeError.
// Arguments that are not positive give a func that always returns ErrArgs.
func RecordsCost(perCredit, maxCredits, maxBody int64) func(*http.Request) (int64, error) {
	if perCredit <= 0 || maxCredits <= 0 || maxBody <= 0 {
		return func(*http.Request) (int64, error) { return 0, ErrArgs }
	}
	return func(r *http.Request) (int64, error) {
		buf, err := readBody(r, maxBody)
		if err != nil || len(buf) == 0 {
			return 1, err
		}
		n, err := countRecords(buf)
		if err != nil {
			return 0, fmt.Errorf("%w: %v", ErrMalformedBody, err)
		}
		c := (n + perCredit - 1) / perCredit
		return min(max(c, 1), maxCredits), nil
	}
}

// countRecords returns the length of the top-level "data" array of the JSON
// value buf, 0 for null or an object without "data". It walks the tokens
// instead of unmarshalling into a struct: encoding/json matches keys
// case-insensitively and keeps the last duplicate, while the upstream (Zoho
// CRM) reads "data" case-sensitively, so {"data":[...],"Data":null} would
// count none of the records it writes. A second "data", or a key that is
// "data" but for case, is an error: which one upstream reads is its parser's
// choice, not ours to guess.
func countRecords(buf []byte) (int64, error) {
	dec := json.NewDecoder(bytes.NewReader(buf))
	tok, err := dec.Token()
	if err != nil {
		return 0, err
	}
	var n int64
	switch tok {
	case nil: // null
	case json.Delim('{'):
		seen := false
		var skip json.RawMessage
		for dec.More() {
			if tok, err = dec.Token(); err != nil {
				return 0, err
			}
			key, _ := tok.(string) // Token errors unless a key comes here
			switch {
			case key == "data":
				if seen {
					return 0, errors.New(`"data" appears twice`)
				}
				seen = true
				if n, err = countArray(dec); err != nil {
					return 0, err
				}
			case strings.EqualFold(key, "data"):
				return 0, fmt.Errorf(`key %q is "data" but for case`, key)
			default:
				if err := dec.Decode(&skip); err != nil {
					return 0, err
				}
			}
		}
		if _, err := dec.Token(); err != nil { // the closing brace
			return 0, err
		}
	default:
		return 0, errors.New("body is not a JSON object")
	}
	if _, err := dec.Token(); err != io.EOF {
		return 0, errors.New("data after the JSON object")
	}
	return n, nil
}

// countArray reads a JSON array or null and returns its length.
func countArray(dec *json.Decoder) (int64, error) {
	tok, err := dec.Token()
	if err != nil || tok == nil {
		return 0, err
	}
	if tok != json.Delim('[') {
		return 0, errors.New(`"data" is not an array`)
	}
	var n int64
	var skip json.RawMessage
	for ; dec.More(); n++ {
		if err := dec.Decode(&skip); err != nil {
			return 0, err
		}
	}
	_, err = dec.Token() // the closing bracket
	return n, err
}

// QueryLimitCost returns a CostFunc that reads a JSON body of at most maxBody
// bytes, takes the row LIMIT of the query string in field (a SQL-like
// "... LIMIT n", "LIMIT offset, n" or "LIMIT n OFFSET m"; defaultLimit when
// absent; a "limit" in a quoted literal does not count) and charges the cost
// of the first tier whose UpTo is >= that limit (the last tier beyond them
// all, and for a query with a literal left open). Zoho prices COQL this way.
func QueryLimitCost(field string, defaultLimit int64, maxBody int64, tiers ...Tier) func(*http.Request) (int64, error) {
	if len(tiers) == 0 || maxBody <= 0 {
		return func(*http.Request) (int64, error) { return 0, ErrArgs }
	}
	return func(r *http.Request) (int64, error) {
		buf, err := readBody(r, maxBody)
		if err != nil {
			return 0, err
		}
		var m map[string]json.RawMessage
		if len(buf) == 0 {
			buf = []byte("{}")
		}
		if err := json.Unmarshal(buf, &m); err != nil {
			return 0, fmt.Errorf("%w: %v", ErrMalformedBody, err)
		}
		var q string
		if raw, ok := m[field]; ok {
			if err := json.Unmarshal(raw, &q); err != nil {
				return 0, fmt.Errorf("%w: %s: %v", ErrMalformedBody, field, err)
			}
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
}

// Tier is one price band of QueryLimitCost.
type Tier struct{ UpTo, Cost int64 }

// queryLimit finds the row count of the last LIMIT clause of q, outside its
// quoted literals. A literal left open gives math.MaxInt64, the last tier: we
// cannot tell where upstream ends it, so a LIMIT after the quote may be in it
// or not, and only the top price is never too low (an error would let shadow
// mode pass the query unmetered).
func queryLimit(q string, def int64) (int64, error) {
	q, ok := stripLiterals(q)
	if !ok {
		return math.MaxInt64, nil
	}
	f := strings.Fields(strings.NewReplacer(",", " , ").Replace(q))
	at := -1
	for i, w := range f {
		if strings.EqualFold(w, "limit") {
			at = i
		}
	}
	if at < 0 {
		return def, nil
	}
	num := func(i int) (int64, bool) {
		if i >= len(f) {
			return 0, false
		}
		n, err := strconv.ParseInt(f[i], 10, 64)
		return n, err == nil && n >= 0
	}
	n, ok := num(at + 1)
	if !ok {
		return 0, fmt.Errorf("%w: bad LIMIT in query", ErrMalformedBody)
	}
	if at+2 < len(f) && f[at+2] == "," { // LIMIT offset, count
		if n, ok = num(at + 3); !ok {
			return 0, fmt.Errorf("%w: bad LIMIT in query", ErrMalformedBody)
		}
	}
	return n, nil
}

// stripLiterals replaces each single- or double-quoted literal of q by a
// space, and reports false if one is left open. In a literal a backslash
// escapes the next byte, as in 'it\'s'; a doubled quote (SQL's escape) reads
// as two adjacent literals, which blanks the same text. Were upstream not to
// honour backslashes, a LIMIT this hides would need a quote after it, which
// COQL does not allow after LIMIT.
func stripLiterals(q string) (string, bool) {
	if !strings.ContainsAny(q, `'"`) {
		return q, true
	}
	b := make([]byte, 0, len(q))
	for i := 0; i < len(q); i++ {
		c := q[i]
		if c != '\'' && c != '"' {
			b = append(b, c)
			continue
		}
		j := i + 1
		for ; j < len(q) && q[j] != c; j++ {
			if q[j] == '\\' {
				j++
			}
		}
		if j >= len(q) {
			return "", false
		}
		b = append(b, ' ')
		i = j
	}
	return string(b), true
}

// QueryParamCost returns a CostFunc costing with when the URL query has param
// (any value) and without otherwise. Keys are compared unescaped, as in
// url.Values; a pair that url.ParseQuery drops for bad escaping might be
// param to another parser, and costs the higher of the two. It allocates only
// for escaped keys.
func QueryParamCost(param string, with, without int64) func(*http.Request) (int64, error) {
	return func(r *http.Request) (int64, error) {
		if r.URL == nil {
			return without, nil
		}
		switch present, unsure := hasParam(r.URL.RawQuery, param); {
		case present:
			return with, nil
		case unsure:
			return max(with, without), nil
		}
		return without, nil
	}
}

// hasParam reports whether the query raw has the key name, and, if not,
// whether a pair that failed to unescape could be it.
func hasParam(raw, name string) (present, unsure bool) {
	for raw != "" {
		var kv string
		kv, raw, _ = strings.Cut(raw, "&")
		k, v, _ := strings.Cut(kv, "=")
		k, err := url.QueryUnescape(k) // no allocation unless escaped
		switch {
		case err != nil:
			unsure = true
		case k != name:
		case validEscapes(v):
			return true, false
		default: // net/url drops the pair, another parser may not
			unsure = true
		}
	}
	return false, unsure
}

// validEscapes reports whether url.QueryUnescape accepts s, without
// allocating.
func validEscapes(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] == '%' {
			if i+2 >= len(s) || !isHex(s[i+1]) || !isHex(s[i+2]) {
				return false
			}
			i += 2
		}
	}
	return true
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}
