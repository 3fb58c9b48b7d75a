package cost

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"strings"
)

// Body-cost errors.
var (
	ErrMalformedBody = errors.New("cost: malformed request body")
	ErrArgs          = errors.New("cost: bad cost function arguments")
)

// BodyTooLargeError is returned when a Pricer would have to read more
// than Limit bytes of a body to price it.
type BodyTooLargeError struct{ Limit int64 }

func (e *BodyTooLargeError) Error() string {
	return fmt.Sprintf("cost: request body larger than %d bytes", e.Limit)
}

// ReadBody reads up to maxBody bytes of r.Body for a Pricer and puts back a
// body that yields everything the client sent, read or not, so the next
// handler sees it whole; if reading failed, it yields the bytes read and then
// the same error. A body longer than maxBody is a *BodyTooLargeError.
func ReadBody(r *http.Request, maxBody int64) ([]byte, error) {
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

// A Pricer prices a route's requests from the request itself, and says
// what a table needs to know before it runs: the bounds of its result and
// whether, and how much of, the body it reads. The zero Pricer is none: the
// route costs Route.Cost.
type Pricer struct {
	// Func returns the cost. If it reads the body it reads at most MaxBody
	// bytes and leaves the body whole for the next reader (see ReadBody).
	Func func(r *http.Request) (int64, error)
	// Min and Max bound what Func returns (a result outside them is held
	// to them); Max 0 means no bound is known.
	Min, Max int64
	// MaxBody is the most Func reads of the body, 0 if it reads none: then
	// Table.Match runs it, else Table.PriceBody does.
	MaxBody int64
	// InClass, if not nil, reports whether a request that Func priced at
	// credits is in its route's Class (Zoho's Get Records is a complex API
	// with a cvid or sort_by); nil, every request of the route is. It reads
	// no body, and a Pricer that reads the body (MaxBody > 0) may not have
	// one: a server takes the class's slot at admission, before it reads
	// the body (issue #13: what can be refused unread is), so a class the
	// body decides would be held by every request of the route or by none.
	InClass func(r *http.Request, credits int64) bool
}

// RecordsCost prices multi-record writes: ceil(records/perCredit) credits, at
// least 1 and at most maxCredits, where records is the length of the array
// under key (Zoho: "data") at the top level of a JSON body of at most maxBody
// bytes. An empty body, null, or an object without key costs 1; so Min is 1.
// A malformed body is an error wrapping ErrMalformedBody, and so is one
// whose top-level object has key twice or a key that differs from it only
// in case (upstream parsers disagree on which one counts), or whose key is
// neither an array nor null. An oversized body is a *BodyTooLargeError.
// Counting is linear in the body and allocates nothing per record. An empty
// key or arguments that are not positive give a Pricer that always returns
// ErrArgs.
func RecordsCost(key string, perCredit, maxCredits, maxBody int64) Pricer {
	if key == "" || perCredit <= 0 || maxCredits <= 0 || maxBody <= 0 {
		return Pricer{Func: func(*http.Request) (int64, error) { return 0, ErrArgs }}
	}
	k := []byte(key)
	f := func(r *http.Request) (int64, error) {
		buf, err := ReadBody(r, maxBody)
		if err != nil || len(buf) == 0 {
			return 1, err
		}
		n, err := countRecords(buf, k)
		if err != nil {
			return 0, fmt.Errorf("%w: %v", ErrMalformedBody, err)
		}
		c := (n + perCredit - 1) / perCredit
		return min(max(c, 1), maxCredits), nil
	}
	return Pricer{Func: f, Min: 1, Max: maxCredits, MaxBody: maxBody}
}

// QueryParamCost prices by the URL query: with when it has param (any
// value), without otherwise. Keys are compared unescaped, as in url.Values;
// a pair that url.ParseQuery drops, for bad escaping or for a semicolon
// (which other parsers take for a separator, or for text), might be param
// to another parser, and costs the higher of the two. It reads no body, and
// allocates only for escaped keys.
func QueryParamCost(param string, with, without int64) Pricer {
	f := func(r *http.Request) (int64, error) {
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
	return Pricer{Func: f, Min: min(with, without), Max: max(with, without)}
}

// HasQueryParam reports whether r's URL query has the key name, or a pair
// another parser may read as name (as QueryParamCost reads it): for an
// InClass that decides by the query. It allocates only for escaped keys.
func HasQueryParam(r *http.Request, name string) bool {
	if r.URL == nil || r.URL.RawQuery == "" {
		return false
	}
	present, unsure := hasParam(r.URL.RawQuery, name)
	return present || unsure
}

// hasParam reports whether the query raw has the key name, and, if not,
// whether a pair that failed to unescape could be it.
func hasParam(raw, name string) (present, unsure bool) {
	for raw != "" {
		var kv string
		kv, raw, _ = strings.Cut(raw, "&")
		if strings.IndexByte(kv, ';') >= 0 {
			// url.ParseQuery drops the pair; a parser that splits at
			// ';' too reads its parts, one that does not the whole.
			unsure = unsure || mayBeKey(kv, name)
			for rest := kv; rest != "" && !unsure; {
				var part string
				part, rest, _ = strings.Cut(rest, ";")
				unsure = mayBeKey(part, name)
			}
			continue
		}
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

// mayBeKey reports whether the key of the pair kv is name or fails to
// unescape.
func mayBeKey(kv, name string) bool {
	k, _, _ := strings.Cut(kv, "=")
	u, err := url.QueryUnescape(k)
	return err != nil || u == name
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
