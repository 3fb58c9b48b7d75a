package middleware

import (
	"net/http"
	"strconv"
	"sync/atomic"
	"time"
	"unsafe"
)

// Limit header names as Zoho documents them. HTTP field names are case
// insensitive; net/http sends them in canonical form ("X-Ratelimit-Limit").
const (
	// HeaderLimit carries the pool size (credits per window).
	HeaderLimit = "X-RATELIMIT-LIMIT"
	// HeaderRemaining carries the credits left after this request.
	HeaderRemaining = "X-RATELIMIT-REMAINING"
	// HeaderReset carries the whole seconds until the next spent credits come
	// back (rounded up), or, with [WithResetEpoch], that instant in Unix seconds.
	HeaderReset = "X-RATELIMIT-RESET"
	// HeaderCreditsRemaining repeats the remaining credits, and is sent only
	// once half the allowance or more is used, as Zoho does; the allowance
	// is the pool without the plan's add-on credits (store.Plan.AddOns),
	// which Zoho leaves out.
	HeaderCreditsRemaining = "X-API-CREDITS-REMAINING"
	// HeaderRateLimitPolicy and HeaderRateLimit are the IETF
	// draft-ietf-httpapi-ratelimit-headers-10 fields, sent with [WithIETFHeaders].
	HeaderRateLimitPolicy = "RateLimit-Policy"
	HeaderRateLimit       = "RateLimit"
	// HeaderRetryAfter is sent on refusals, in whole seconds rounded up.
	HeaderRetryAfter = "Retry-After"
)

// Canonical map keys, computed once so that writing headers does not
// canonicalize on every request.
var (
	keyLimit            = http.CanonicalHeaderKey(HeaderLimit)
	keyRemaining        = http.CanonicalHeaderKey(HeaderRemaining)
	keyReset            = http.CanonicalHeaderKey(HeaderReset)
	keyCreditsRemaining = http.CanonicalHeaderKey(HeaderCreditsRemaining)
	keyRateLimitPolicy  = http.CanonicalHeaderKey(HeaderRateLimitPolicy)
	keyRateLimit        = http.CanonicalHeaderKey(HeaderRateLimit)
	keyRetryAfter       = http.CanonicalHeaderKey(HeaderRetryAfter)
)

// headerConfig says which limit fields are written and how.
type headerConfig struct {
	epochReset bool   // X-RATELIMIT-RESET as Unix seconds instead of a delay
	ietf       bool   // also RateLimit-Policy and RateLimit
	policy     string // IETF policy name, a valid sf-string body
}

// limitState is what the headers describe; a subset of limiter.Decision, kept
// separate so that the writer and its fuzz test need no limiter.
type limitState struct {
	limit, remaining int64
	reset            time.Time
	window           time.Duration // IETF w parameter; 0 leaves w out
	retryAfter       time.Duration // > 0 only on refusals
	slot             *slotLimit    // the slot cap that refused (a concurrency 429), nil if none
	// used is the pool's use (the decision's Used), and addOns the part
	// of limit that X-API-CREDITS-REMAINING's allowance leaves out: the
	// add-on credits of the plan the store decided under (Decision's
	// AddOns), 0 for none.
	used, addOns int64
}

// slotLimit is a concurrency or sub-concurrency cap as an IETF policy: its
// name (ByConcurrency, BySubConcurrency) and its limit, calls in flight.
type slotLimit struct {
	name  string
	limit int64
}

// ceilSeconds rounds d up to whole seconds, never below 0: a client told 0
// retries at once, so a fraction must not be rounded down to it.
func ceilSeconds(d time.Duration) int64 {
	if d <= 0 {
		return 0
	}
	s := int64(d / time.Second) // not (d+time.Second-1)/time.Second, which overflows near the maximum
	if d%time.Second != 0 {
		s++
	}
	return s
}

// untilSeconds is ceilSeconds(reset.Sub(now)) for wall times: Sub's
// overflow checks cost more than the rest of a header value, so they run only
// when the two are more than 2^32 s apart. (A monotonic reading in both, which
// Sub would prefer, differs from the wall difference only if the wall clock
// was set in between; the limiter's times are wall times.)
func untilSeconds(now, reset time.Time) int64 {
	s := reset.Unix() - now.Unix()
	if s > 1<<32 || s < -1<<32 {
		return ceilSeconds(reset.Sub(now))
	}
	if reset.Nanosecond() > now.Nanosecond() { // a fraction of a second more
		s++
	}
	return max(s, 0)
}

// headerScratch is memory for one response's limit header values, every
// field included; writeLimitHeaders allocates one when given none. A scratch
// is written by one call only: the header strings point into it afterwards.
type headerScratch struct {
	buf  [192]byte // fits every field, IETF ones and a slot refusal's included, for pools below 10^15
	vals [7]string // at most: limit, remaining, reset, credits, retry, policy, ratelimit
}

// writeLimitHeaders sets the limit fields on h, with their values in scratch
// (nil: one is allocated).
func writeLimitHeaders(h http.Header, cfg *headerConfig, now time.Time, s limitState, scratch *headerScratch) {
	if scratch == nil {
		scratch = new(headerScratch)
	}
	writeLimitFields(h, cfg, now, s, scratch.buf[:], scratch.vals[:])
}

// writeLimitFields sets the limit fields on h. It builds every value in one
// byte buffer and every []string in one backing array: mem and vals when they
// are large enough, else one string and one slice allocated here.
func writeLimitFields(h http.Header, cfg *headerConfig, now time.Time, s limitState, mem []byte, vals []string) {
	var ends [8]int // end offsets of the values in buf
	buf, n, credits := appendLimitValues(mem[:0], &ends, cfg, now, s)
	// The values live in mem (never written again once set) when buf did
	// not outgrow it; otherwise in one string.
	var all string
	if len(buf) > 0 && &buf[0] == &mem[0] {
		all = unsafe.String(&mem[0], len(buf))
	} else {
		all = string(buf)
	}
	if n > len(vals) {
		vals = make([]string, n)
	}
	vals = vals[:n]
	start := 0
	for i := range n {
		vals[i] = all[start:ends[i]]
		start = ends[i]
	}
	i := 0
	next := func() []string { v := vals[i : i+1 : i+1]; i++; return v }
	h[keyLimit] = next()
	h[keyRemaining] = next()
	h[keyReset] = next()
	if credits {
		h[keyCreditsRemaining] = next()
	}
	if s.retryAfter > 0 {
		h[keyRetryAfter] = next()
	}
	if cfg.ietf {
		h[keyRateLimitPolicy] = next()
		h[keyRateLimit] = next()
	}
}

// appendLimitValues appends the limit fields' values to buf, in the order
// writeLimitFields sets them, recording where each ends in ends; n is how
// many, credits whether X-API-CREDITS-REMAINING is among them.
func appendLimitValues(buf []byte, ends *[8]int, cfg *headerConfig, now time.Time, s limitState) (_ []byte, n int, credits bool) {
	mark := func() { ends[n] = len(buf); n++ }
	remaining := max(s.remaining, 0)
	delay := untilSeconds(now, s.reset)
	buf = strconv.AppendInt(buf, s.limit, 10)
	mark()
	buf = strconv.AppendInt(buf, remaining, 10)
	mark()
	if cfg.epochReset {
		buf = strconv.AppendInt(buf, epochReset(now, s.reset), 10)
	} else {
		buf = strconv.AppendInt(buf, delay, 10)
	}
	mark()
	credits = showCredits(s.limit, s.used, s.addOns)
	if credits {
		buf = strconv.AppendInt(buf, remaining, 10)
		mark()
	}
	if s.retryAfter > 0 {
		buf = strconv.AppendInt(buf, ceilSeconds(s.retryAfter), 10)
		mark()
	}
	if cfg.ietf {
		buf = appendPolicies(buf, cfg.policy, s)
		mark()
		buf = appendRateLimits(buf, cfg.policy, remaining, delay, s)
		mark()
	}
	return buf, n, credits
}

// appendPolicies appends the RateLimit-Policy value: the credits policy,
// after the slot cap that refused, if one did, in concurrent requests.
func appendPolicies(buf []byte, policy string, s limitState) []byte {
	if sl := s.slot; sl != nil {
		buf = append(buf, '"')
		buf = append(buf, sl.name...)
		buf = append(buf, `";q=`...)
		buf = strconv.AppendInt(buf, sl.limit, 10)
		buf = append(buf, `;qu="concurrent-requests", `...)
	}
	return appendPolicy(buf, policy, s.limit, s.window)
}

// appendRateLimits appends the RateLimit value. For a slot refusal it names
// the cap that refused first, with r=0 and t equal to Retry-After, so that
// the fields of one 429 agree; the credits item follows only if its t is
// no later than Retry-After: the draft (section 6) says Retry-After SHOULD
// NOT point earlier than the reset parameter, and a concurrency 429 after
// credits were spent would otherwise say Retry-After 1 beside t=hours.
func appendRateLimits(buf []byte, policy string, remaining, delay int64, s limitState) []byte {
	sl := s.slot
	if sl == nil {
		return appendRateLimit(buf, policy, remaining, delay)
	}
	retry := ceilSeconds(s.retryAfter)
	buf = appendRateLimit(buf, sl.name, 0, retry)
	if delay > retry {
		return buf
	}
	buf = append(buf, ", "...)
	return appendRateLimit(buf, policy, remaining, delay)
}

// epochReset is X-RATELIMIT-RESET with WithResetEpoch: the reset's Unix
// time in whole seconds rounded up, never before now.
func epochReset(now, reset time.Time) int64 {
	if reset.Before(now) {
		reset = now
	}
	return ceilSeconds(time.Duration(reset.UnixNano()))
}

// showCredits says whether X-API-CREDITS-REMAINING is sent: once half the
// allowance (the pool of limit less its add-on credits) or more is used,
// as Zoho sends it "once usage is at 50% or more of the allowance, add-on
// credits excluded"; for an odd allowance, once the used credits reach
// the half rounded up. used is the pool's, not what the least window of a
// compound plan has left (a decision's Remaining), which would send it
// once a burst window is half spent.
func showCredits(limit, used, addOns int64) bool {
	a := limit - min(max(addOns, 0), limit)
	return limit > 0 && used >= a-a/2
}

// writeAdmitted sets what writeLimitFields sets without the IETF fields and
// Retry-After (the admitted path's usual case) with one map assignment per
// field: LIMIT and RESET come from the caches, and REMAINING, the one value
// that changes with every request, is written into vals.buf (whose memory
// must never be written again). Each []string is an array in vals, which
// belongs to this response alone: a handler may edit or reuse h[k] in place
// without touching another response's value. X-API-CREDITS-REMAINING shares
// REMAINING's array (one value, 16 B less in the request state).
func writeAdmitted(h http.Header, cfg *headerConfig, c *valueCaches, now time.Time, s limitState, vals *admittedValues) {
	remaining := max(s.remaining, 0)
	var reset int64
	if cfg.epochReset {
		reset = epochReset(now, s.reset)
	} else {
		reset = untilSeconds(now, s.reset)
	}
	b := strconv.AppendInt(vals.buf[:0], remaining, 10)
	rem := unsafe.String(unsafe.SliceData(b), len(b))
	vals.limit[0] = c.limits.get(s.limit)
	vals.remaining[0] = rem
	vals.reset[0] = c.resets.get(reset)
	h[keyLimit] = vals.limit[:]
	h[keyRemaining] = vals.remaining[:]
	h[keyReset] = vals.reset[:]
	if showCredits(s.limit, s.used, s.addOns) {
		h[keyCreditsRemaining] = vals.remaining[:]
	}
}

// appendPolicy appends the RateLimit-Policy value: "<policy>";q=L;w=W, the
// w parameter left out when the window is unknown (0).
func appendPolicy(buf []byte, policy string, limit int64, window time.Duration) []byte {
	buf = append(buf, '"')
	buf = append(buf, policy...)
	buf = append(buf, `";q=`...)
	buf = strconv.AppendInt(buf, limit, 10)
	if w := ceilSeconds(window); w > 0 {
		buf = append(buf, ";w="...)
		buf = strconv.AppendInt(buf, w, 10)
	}
	return buf
}

// appendRateLimit appends the RateLimit value: "<policy>";r=R;t=T.
func appendRateLimit(buf []byte, policy string, remaining, delay int64) []byte {
	buf = append(buf, '"')
	buf = append(buf, policy...)
	buf = append(buf, `";r=`...)
	buf = strconv.AppendInt(buf, remaining, 10)
	buf = append(buf, ";t="...)
	return strconv.AppendInt(buf, delay, 10)
}

// writeAdmittedIETF adds the IETF fields to what writeAdmitted wrote: the
// policy from the cache (it changes only with the pool size and window), the
// RateLimit value, which changes with every request, in vals.buf; both in
// arrays of this response's own, as in writeAdmitted.
func writeAdmittedIETF(h http.Header, cfg *headerConfig, c *valueCaches, now time.Time, s limitState, vals *ietfValues) {
	b := appendRateLimit(vals.buf[:0], cfg.policy, max(s.remaining, 0), untilSeconds(now, s.reset))
	vals.rateLimit[0] = unsafe.String(unsafe.SliceData(b), len(b))
	vals.policy[0] = c.policies.get(cfg.policy, s.limit, s.window)
	h[keyRateLimitPolicy] = vals.policy[:]
	h[keyRateLimit] = vals.rateLimit[:]
}

// ietfValues is one response's memory for the IETF fields; buf fits the
// default policy name with any remaining credits and delay (a longer name
// may need an allocation).
type ietfValues struct {
	policy, rateLimit [1]string
	buf               [56]byte
}

// admittedValues is one response's memory for the admitted path's fields.
// Up to 16 digits of REMAINING fit in buf; a larger value is formatted into
// an allocation of its own.
type admittedValues struct {
	limit, remaining, reset [1]string
	buf                     [16]byte
}

// valueCaches are a handler's caches of the LIMIT, RESET and
// RateLimit-Policy values.
type valueCaches struct {
	limits, resets valueCache
	policies       policyCache
}

// sharedValues maps a key to its header field value, built once and shared
// by every response that sends it: the pool size and window rarely change,
// the reset delay once a second per tenant. Each slot holds the last key
// that hashed to it, so up to about a hundred tenants with different values
// mostly hit; a miss costs one allocation, which many more tenants with
// different resets pay on most requests. B is the value's inline memory,
// an array sized so that an entry fills a size class of whole cache lines
// (TestCachedValueLines): every request on every core reads the entry, and a
// small object beside it that one core keeps writing (a semaphore, say)
// would otherwise make each of those reads a miss.
type sharedValues[K comparable, B any] struct {
	slots [sharedValueSlots]atomic.Pointer[sharedValue[K, B]]
}

const (
	sharedValueBits  = 8
	sharedValueSlots = 1 << sharedValueBits
)

type sharedValue[K comparable, B any] struct {
	key K
	v   string // points into buf when the value fits
	buf B
}

// get returns key's value, building it with appendValue on a miss. hash is
// the key's hash; Fibonacci hashing spreads consecutive keys (resets a second
// apart) over the slots. Responses share the string, which is immutable, but
// never a []string: a handler may write into its header's slices.
func (c *sharedValues[K, B]) get(key K, hash uint64, appendValue func([]byte, K) []byte) string {
	slot := &c.slots[(hash*0x9e3779b97f4a7c15)>>(64-sharedValueBits)]
	if e := slot.Load(); e != nil && e.key == key {
		return e.v
	}
	e := &sharedValue[K, B]{key: key}
	buf := unsafe.Slice((*byte)(unsafe.Pointer(&e.buf)), unsafe.Sizeof(e.buf))
	b := appendValue(buf[:0], key)
	e.v = unsafe.String(unsafe.SliceData(b), len(b))
	slot.Store(e)
	return e.v
}

// valueCache holds integer header values (LIMIT, RESET); an entry is 64
// bytes.
type valueCache struct{ sharedValues[int64, [40]byte] }

func (c *valueCache) get(n int64) string { return c.sharedValues.get(n, uint64(n), appendDecimal) }

func appendDecimal(b []byte, n int64) []byte { return strconv.AppendInt(b, n, 10) }

// policyCache holds RateLimit-Policy values; an entry is 128 bytes.
type policyCache struct {
	sharedValues[policyKey, [80]byte]
}

type policyKey struct {
	policy string // the handler's policy name, the same on every call
	limit  int64
	window time.Duration
}

func (c *policyCache) get(policy string, limit int64, window time.Duration) string {
	return c.sharedValues.get(policyKey{policy, limit, window}, uint64(limit)^uint64(window)*0xff51afd7ed558ccd, appendPolicyKey)
}

func appendPolicyKey(b []byte, k policyKey) []byte {
	return appendPolicy(b, k.policy, k.limit, k.window)
}

// validPolicyName reports whether name can be written inside an sf-string
// without escaping: printable ASCII other than '"' and '\'.
func validPolicyName(name string) bool {
	if name == "" {
		return false
	}
	for i := 0; i < len(name); i++ {
		if c := name[i]; c < 0x20 || c > 0x7e || c == '"' || c == '\\' {
			return false
		}
	}
	return true
}
