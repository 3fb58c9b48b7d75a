package middleware

import (
	"net/http"
	"strconv"
	"time"
	"unicode/utf8"
)

// Error codes in the JSON bodies, in Zoho's vocabulary.
const (
	// CodeTooManyRequests: a concurrency or sub-concurrency cap is full; retry
	// after a short pause.
	CodeTooManyRequests = "TOO_MANY_REQUESTS"
	// CodeLimitExceeded: the credits of the window are spent; retry after the
	// reset time.
	CodeLimitExceeded = "LIMIT_EXCEEDED"
	// CodeInvalidData: the request's cost could not be computed from it.
	CodeInvalidData = "INVALID_DATA"
	// CodeTooLarge: the body is larger than the cost function reads.
	CodeTooLarge = "REQUEST_ENTITY_TOO_LARGE"
)

// Values of details.by in refusal bodies.
const (
	ByCredits        = "credits"
	ByConcurrency    = "concurrency"
	BySubConcurrency = "sub_concurrency"
	// ByTenants: the server tracks as many busy tenants as it can; retry soon.
	ByTenants = "tenants"
)

// ErrorBody is the JSON shape of every error this package writes, Zoho's error
// object: {"code","details","message","status":"error"}. It is exported so that
// clients and tests can decode it. No field ever repeats request input.
type ErrorBody struct {
	Code    string       `json:"code"`
	Details ErrorDetails `json:"details"`
	Message string       `json:"message"`
	Status  string       `json:"status"`
}

// ErrorDetails says why and until when. Fields a refusal reason does not use
// are left out of the JSON.
type ErrorDetails struct {
	By         string `json:"by,omitempty"`          // ByCredits, ByConcurrency, BySubConcurrency, "body"
	Class      string `json:"class,omitempty"`       // the sub-concurrency class, e.g. "bulk"
	Cost       *int64 `json:"cost,omitempty"`        // credits the refused request would have cost (refusals only)
	Limit      int64  `json:"limit,omitempty"`       // pool size, or the body limit in bytes
	Remaining  *int64 `json:"remaining,omitempty"`   // credits left (refusals only)
	ResetTime  string `json:"reset_time,omitempty"`  // RFC 3339, UTC: when credits come back
	RetryAfter int64  `json:"retry_after,omitempty"` // whole seconds, as in Retry-After
}

// refusal is what a 429 body describes.
type refusal struct {
	by               string
	class            string
	cost             int64 // what the refused request would have cost
	limit, remaining int64
	reset            time.Time
	retryAfter       time.Duration
}

func (f refusal) code() string {
	if f.by == ByCredits {
		return CodeLimitExceeded
	}
	return CodeTooManyRequests
}

func (f refusal) message() string {
	switch f.by {
	case ByCredits:
		return "the API credits for the current window are used up"
	case BySubConcurrency:
		return "too many concurrent calls of this API class"
	case ByTenants:
		return "the server is busy with too many organisations"
	default:
		return "too many concurrent calls from this application"
	}
}

// appendRefusalBody writes the 429 body by hand: the refusal path can be as hot
// as the admitted one under a storm, and every field is trusted data.
func appendRefusalBody(buf []byte, f refusal) []byte {
	buf = append(buf, `{"code":"`...)
	buf = append(buf, f.code()...)
	buf = append(buf, `","details":{"by":"`...)
	buf = append(buf, f.by...)
	buf = append(buf, '"')
	if f.class != "" {
		buf = append(buf, `,"class":`...)
		buf = appendJSONString(buf, f.class)
	}
	buf = append(buf, `,"cost":`...)
	buf = strconv.AppendInt(buf, f.cost, 10)
	if f.by == ByCredits {
		buf = append(buf, `,"limit":`...)
		buf = strconv.AppendInt(buf, f.limit, 10)
		buf = append(buf, `,"remaining":`...)
		buf = strconv.AppendInt(buf, max(f.remaining, 0), 10)
	}
	if !f.reset.IsZero() {
		buf = append(buf, `,"reset_time":"`...)
		buf = f.reset.UTC().AppendFormat(buf, time.RFC3339)
		buf = append(buf, '"')
	}
	buf = append(buf, `,"retry_after":`...)
	buf = strconv.AppendInt(buf, ceilSeconds(f.retryAfter), 10)
	buf = append(buf, `},"message":"`...)
	buf = append(buf, f.message()...)
	buf = append(buf, `","status":"error"}`...)
	return buf
}

// writeErrorJSON sends a non-refusal error (a cost that could not be computed).
func writeErrorJSON(w http.ResponseWriter, status int, code, message string, limit int64) {
	sc := new(errorScratch) // body and header values in one allocation
	buf := sc.body[:0]
	buf = append(buf, `{"code":"`...)
	buf = append(buf, code...)
	buf = append(buf, `","details":{`...)
	if limit > 0 {
		buf = append(buf, `"by":"body","limit":`...)
		buf = strconv.AppendInt(buf, limit, 10)
	}
	buf = append(buf, `},"message":`...)
	buf = appendJSONString(buf, message)
	buf = append(buf, `,"status":"error"}`...)
	setJSONHeaders(w.Header(), &sc.json)
	w.WriteHeader(status)
	_, _ = w.Write(buf)
}

type errorScratch struct {
	json jsonHeaderValues
	body [160]byte
}

// jsonHeaderValues is one response's memory for setJSONHeaders: a handler
// (or middleware outside this one) may write into a header's slices, so no
// two responses share one.
type jsonHeaderValues struct {
	contentType, noSniff [1]string
}

// setJSONHeaders marks an error response as JSON that browsers must not sniff
// as anything else (the body quotes request data only escaped, but a browser
// guessing HTML from it is what nosniff forbids).
func setJSONHeaders(h http.Header, vals *jsonHeaderValues) {
	vals.contentType[0] = "application/json; charset=utf-8"
	vals.noSniff[0] = "nosniff"
	h["Content-Type"] = vals.contentType[:]
	h["X-Content-Type-Options"] = vals.noSniff[:]
}

// appendJSONString appends s as a JSON string, escaping what JSON requires and
// also <, > and & so that the body is inert if a browser sniffs it as HTML.
func appendJSONString(buf []byte, s string) []byte {
	const hex = "0123456789abcdef"
	buf = append(buf, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				buf = append(buf, '\\', c)
			case c < 0x20 || c == '<' || c == '>' || c == '&':
				buf = append(buf, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			default:
				buf = append(buf, c)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			buf = append(buf, `\ufffd`...)
		} else {
			buf = append(buf, s[i:i+size]...)
		}
		i += size
	}
	return append(buf, '"')
}
