package usage

import (
	"github.com/creditgate/creditgate/internal/words"
	"hash/maphash"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"
	"unsafe"
)

// aggregate folds a batch into the statistics, event by event: each is
// a run of decisions with the same keys already, since RecordRequest and push
// merge a decision into the buffer's last event when it has that event's
// keys, so that no two neighbours in a batch have the same keys (which
// TestBatchNeighboursDiffer holds to). Comparing each with the one
// before here cost two compares of the tenant, which differ when many
// tenants take turns, on every event.
func (u *Stats) aggregate(evs []event) {
	var prev *event // the event applied last, to prevTU
	var prevTU *tenantUsage
	for i := range evs {
		e := &evs[i]
		prevTU = u.apply(e, prev, prevTU)
		prev = e
	}
}

func sameKeys(a, b *event) bool { return a.tenant == b.tenant && sameRun(a, b, false) }

func (c *Count) plus(d Count) { c.Add(d) }

// Add adds d's credits, calls and refusals to c's, each staying at the
// int64 bound it would pass: credits come from callers and from servers'
// headers, and a sum of huge ones must not wrap to a small or negative
// figure. A sum at a bound has saturated and stays there, whatever is
// added after. (c's Key is left as it is.)
func (c *Count) Add(d Count) { c.add3(d.Credits, d.Calls, d.Refused) }

// add3 is Add. When every operand lies in [-2^62, 2^62), as counts do
// but for hostile credits, no sum wraps or starts at a bound (MinInt64,
// which two -2^62 make, is what addSat gives too): one test for the six,
// where addSat's are three each, on every event aggregated.
func (c *Count) add3(credits, calls, refused int64) {
	const h = 1 << 62 // x+h has its top bit clear just when x is in [-h, h)
	if (uint64(c.Credits+h)|uint64(credits+h)|uint64(c.Calls+h)|uint64(calls+h)|
		uint64(c.Refused+h)|uint64(refused+h))>>63 == 0 {
		c.Credits, c.Calls, c.Refused = c.Credits+credits, c.Calls+calls, c.Refused+refused
		return
	}
	c.Credits, c.Calls, c.Refused = addSat(c.Credits, credits), addSat(c.Calls, calls), addSat(c.Refused, refused)
}

// addSat returns a+b, or the int64 bound that it passes. A sum at a bound
// has saturated (it is at least MaxInt64, or at most MinInt64) and stays
// there: taking a refund or a refusal's credits from it must not bring it
// below what it stands for.
func addSat(a, b int64) int64 {
	if uint64(a)-math.MaxInt64 <= 1 { // MaxInt64 or MinInt64
		return a
	}
	if uint64(b)-math.MaxInt64 <= 1 {
		return b
	}
	s := a + b
	if (s^a)&(s^b) < 0 { // a and b share a sign that s lacks: it wrapped
		return math.MaxInt64 ^ a>>63 // MaxInt64 if a >= 0, else MinInt64
	}
	return s
}

// apply adds e's counts to the buckets of e's keys, and returns the tenant it
// went to (nil if too old). prev is the event applied before, to prevTU.
// (The counts are read here, not passed as a Count: its five words cost
// the caller's loop ~10 instructions of moves an event.)
//
// Time is the callers', so one event can be dated far ahead (a clock
// stepped, a wrong now). If the window ended at the latest hour seen, that
// one event would prune every hour retained, and then drop the calls dated
// right as too old. So it ends at the latest hour that two events have
// reached: a lone event ahead prunes nothing and is kept in its hour, and a
// real move of time (a replay after a pause, a clock set right) moves the
// window with its second event. Memory stays bounded: only the latest
// hour, holding one event, can lie past the window. The trade-off: two
// stray events (a burst with the same keys, which push merges, counts
// once) move the window as a real jump would, and normal traffic prunes an
// hour at the second event of the next hour rather than the first.
func (u *Stats) apply(e *event, prev *event, prevTU *tenantUsage) *tenantUsage {
	if e.hour > u.newest {
		if e.hour > u.latest {
			u.newest, u.latest = u.latest, e.hour
		} else {
			u.newest = e.hour
		}
		u.prune(u.newest - u.keep)
		prevTU = nil // prune may have ended its run
	}
	if e.hour <= u.newest-u.keep {
		return nil // older than the retention
	}
	// A settle of a call's cost or a call's refusal corrects a call counted
	// before: where the tenant has no row, the call was Other's.
	corrects := e.calls < 0 || e.adjust && e.app != Outside
	tu := prevTU
	if corrects {
		tu = u.tenantOf(e.tenant, e.hour, true)
	} else if tu == nil || !samePtr(prev.tenant, e.tenant) || prev.hour != e.hour {
		// prevTU only for an event of prev's hour: an event of another
		// hour placed in Other must note its hour in its fold slot
		// (tenantOf), and its tenant's row may count from an hour
		// between the two (from).
		// A kept tenant from the index without tenantOf's call (~20
		// instructions an event when tenants take turns): tenantOf
		// returns it too, as a kept name never folds (its filter bits
		// are set).
		if tu, _ = u.findTenant(e.tenant); tu == nil {
			tu = u.tenantOf(e.tenant, e.hour, false)
		}
	}
	if e.hour < tu.from {
		tu = u.otherUsage() // an hour of the tenant's before its row
	}
	// prev's keys are the caller's strings, like e's, where tu's run
	// holds copies: the same strings again (many tenants folded into
	// Other, say) are known by their pointers, without comparing bytes.
	if tu.inRun && (tu == prevTU && prev.samePtrs(e) || sameRun(&tu.run, e, tu.runShort)) {
		tu.runSum.add3(e.credits, e.calls, e.refused)
		return again(tu, corrects)
	}
	u.settleRun(tu)
	r := &tu.run // its keys are the run's own (see own)
	r.hour, r.adjust = e.hour, e.adjust
	r.app, r.module, r.ip = own(r.app, e.app), own(r.module, e.module), own(r.ip, e.ip)
	r.user, r.meth = own(r.user, e.user), own(r.meth, e.meth)
	tu.runShort = short(r.app) && short(r.module) && short(r.ip) && short(r.user) && short(r.meth)
	tu.runSum, tu.inRun = Count{Credits: e.credits, Calls: e.calls, Refused: e.refused}, true
	return again(tu, corrects)
}

// again is the tenant's usage that apply's next run of the same tenant may
// take without a lookup: none after a correction, which may have gone to
// Other where the tenant's next call makes its own row.
func again(tu *tenantUsage, corrects bool) *tenantUsage {
	if corrects {
		return nil
	}
	return tu
}

// own returns k clipped, as a string of the statistics' own: had when it
// is k (a tenant's next run mostly repeats keys of its last), else a copy.
// A run may wait days for its tenant's next event, and a caller's key may
// be a slice of a much larger buffer.
func own(had, k string) string {
	switch {
	case had == k:
		return had
	case len(k) > MaxKeyBytes || !validName(k):
		return dimKey(k) // a new string
	}
	return strings.Clone(k)
}

// sameRun reports whether e has the keys of run but the tenant's. A run
// holds its keys as dimKey makes them: a key longer than MaxKeyBytes, or
// not UTF-8, never matches, and costs a settle per event. (hasRun with
// e's fields, which passing them to hasRun, a call with its compares
// inlined, cost ~20 instructions of moves.)
//
// The five lengths are compared at once, and when each key has 2 to 16
// bytes (the common keys: "GET" to an e-mail address), their bytes by
// words.Short, inline: Equal's == for a key below 4 bytes cost a call of
// memequal and memeqbody, ~45 instructions on every event aggregated.
// Content compares: a caller's fresh strings gain as constants do.
// short says that run's keys have 2 to 16 bytes each (see
// tenantUsage.runShort), and so e's, of the same lengths: worked out
// once a run, where checking e's cost ~18 instructions an event.
func sameRun(run, e *event, short bool) bool {
	if run.hour != e.hour || run.adjust != e.adjust || (len(run.app)^len(e.app))|(len(run.module)^len(e.module))|
		(len(run.ip)^len(e.ip))|(len(run.user)^len(e.user))|(len(run.meth)^len(e.meth)) != 0 {
		return false
	}
	if !words.Unaligned || !short {
		return words.Equal(run.app, e.app) && words.Equal(run.module, e.module) &&
			words.Equal(run.ip, e.ip) && words.Equal(run.user, e.user) && words.Equal(run.meth, e.meth)
	}
	return words.Short(data(run.app), data(e.app), len(e.app)) && words.Short(data(run.module), data(e.module), len(e.module)) &&
		words.Short(data(run.ip), data(e.ip), len(e.ip)) && words.Short(data(run.user), data(e.user), len(e.user)) &&
		words.Short(data(run.meth), data(e.meth), len(e.meth))
}

// short reports whether k has the 2 to 16 bytes that words.Short compares.
func short(k string) bool { return uint(len(k)-2) <= 14 }

func data(s string) unsafe.Pointer { return unsafe.Pointer(unsafe.StringData(s)) }

// samePtrs reports whether e has r's keys but the tenant's as the very same
// strings (or both empty), so that they need no comparing.
func (r *event) samePtrs(e *event) bool {
	return r.hour == e.hour && r.adjust == e.adjust && samePtr(r.app, e.app) && samePtr(r.module, e.module) &&
		samePtr(r.ip, e.ip) && samePtr(r.user, e.user) && samePtr(r.meth, e.meth)
}

func samePtr(a, b string) bool {
	return len(a) == len(b) && (len(a) == 0 || unsafe.StringData(a) == unsafe.StringData(b))
}

// hasRun reports whether r has these keys but the tenant's; RecordRequest asks
// it before it builds an event.
func (r *event) hasRun(hour int64, adjust bool, app, module, ip, user, meth string) bool {
	return r.hour == hour && r.adjust == adjust && words.Equal(r.app, app) && words.Equal(r.module, module) &&
		words.Equal(r.ip, ip) && words.Equal(r.user, user) && words.Equal(r.meth, meth)
}

// merge adds another event's counts to r, which has its keys. Credits
// saturate (see Count.Add); calls and refusals come one per decision, or
// in a run's few, and cannot reach the bound.
func (r *event) merge(credits, calls, refused int64) {
	r.credits, r.calls, r.refused = addSat(r.credits, credits), r.calls+calls, r.refused+refused
}

// settleRun adds tu's run to its hour, and ends it.
func (u *Stats) settleRun(tu *tenantUsage) {
	if !tu.inRun {
		return
	}
	e, sum := &tu.run, tu.runSum
	tu.inRun = false
	h := tu.hours[e.hour]
	if h == nil {
		h = &hourUsage{}
		tu.hours[e.hour] = h
	}
	h.total.plus(sum)
	keys := [numDims]string{e.app, e.module, e.ip, e.user, e.meth}
	var owned [numDims]bool
	h.applyDims(&keys, &owned, sum, e.adjust, u.maxPerDim)
	if u.pairKeys > 0 {
		h.applyPairs(&keys, &owned, sum, e.adjust, u.pairKeys, u.pairPerKey)
	}
	// The run's keys stay for the next run to reuse, as the maps' copies
	// where they have one, so that a key is held once.
	e.app, e.module, e.ip, e.user, e.meth = keys[App], keys[Module], keys[IP], keys[User], keys[Method]
}

// settleRuns settles every tenant's run, so that hours hold everything
// aggregated. Called with u.mu held, before a query reads hours; the
// tenants are at most DefaultTenants+1.
func (u *Stats) settleRuns() {
	for _, tu := range u.tenants {
		u.settleRun(tu)
	}
}

// applyDims adds sum to the count of each of keys in its dimension. It
// sets keys[d] to the dimension's own copy, and owned[d], where the key
// has a row of its own, so that the breakdowns share that copy.
func (h *hourUsage) applyDims(keys *[numDims]string, owned *[numDims]bool, sum Count, adjust bool, maxPerDim int) {
	for d, k := range keys {
		if adjust && Dimension(d) != App {
			continue // a settled difference is known by application only
		}
		c := h.last[d]
		if c == nil || c.Key != k {
			m := h.dims[d]
			if m == nil {
				m = map[string]*Count{}
				h.dims[d] = m
			}
			if c = m[k]; c == nil {
				c = admit(m, k, false, sum, maxPerDim)
			}
			h.last[d] = c
		}
		c.plus(sum)
		if c.Key == k {
			keys[d], owned[d] = c.Key, true
		}
	}
}

// admit finds a place in m for key k, new in this hour, which brings sum
// (k is cloned unless owned).
// Below the cap k gets its own count. At the cap the tail folds into
// Other: the smallest count (least credits, then fewest calls, then the
// greatest key, so that ties fold the same way every time) moves into it to
// make room for k, unless k itself brings less than that, in which case k
// is the tail and its count is Other's. So a heavy key that arrives late
// in the hour still gets a row of its own, and totals are kept exactly.
func admit(m map[string]*Count, k string, owned bool, sum Count, maxKeys int) *Count {
	other := m[Other]
	if len(m)-btoi(other != nil) < maxKeys {
		return newCount(m, k, owned)
	}
	var tail *Count
	for key, c := range m {
		if key != Other && (tail == nil || smaller(c, tail)) {
			tail = c
		}
	}
	if other == nil {
		other = &Count{Key: Other}
		m[Other] = other
	}
	if k == Other || tail == nil || !below(tail, &sum) {
		return other // k is Other's own row, or the tail
	}
	other.plus(*tail)
	delete(m, tail.Key) // h.last may hold tail: the caller replaces it
	return newCount(m, k, owned)
}

// newCount adds key k to m, cloned unless owned: keys stay for the
// retention, and the caller's may be slices of larger buffers.
func newCount(m map[string]*Count, k string, owned bool) *Count {
	c := &Count{Key: ownKey(k, owned)}
	m[c.Key] = c
	return c
}

// smaller orders kept counts for folding: fewer credits, then fewer calls
// and refusals, then (ties) the greater key is the smaller count, the
// empty key too (a call with no application, say), so that the tail is
// the same whatever order the map is walked in.
func smaller(a, b *Count) bool {
	if a.Credits != b.Credits {
		return a.Credits < b.Credits
	}
	if x, y := addSat(a.Calls, a.Refused), addSat(b.Calls, b.Refused); x != y {
		return x < y
	}
	return a.Key > b.Key
}

// below reports whether the kept count c is smaller than sum, a new key's
// first count, which loses every tie: a key kept stays against a newcomer
// as heavy as it.
func below(c, sum *Count) bool {
	if c.Credits != sum.Credits {
		return c.Credits < sum.Credits
	}
	return addSat(c.Calls, c.Refused) < addSat(sum.Calls, sum.Refused)
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

func (u *Stats) prune(oldest int64) {
	n := len(u.tenants)
	for k, tu := range u.tenants {
		if tu.inRun && tu.run.hour <= oldest {
			tu.run, tu.runSum, tu.inRun = event{}, Count{}, false
		}
		for h := range tu.hours {
			if h <= oldest {
				delete(tu.hours, h)
			}
		}
		// An empty row whose first hour is the window's last, or the
		// next (an hour's first event prunes with newest still at the
		// hour before), stays: made when its fold slot had folded, it
		// counts from that hour (see addTenant), and a row made anew
		// would defer again if a tenant of its slot folded before this
		// prune. At most an hour more.
		if len(tu.hours) == 0 && !tu.inRun && uint64(tu.from-u.newest) > 1 {
			u.dropTenant(k, tu)
		}
	}
	if len(u.tenants) < n {
		u.resetFilter()
	}
}

// MaxKeyBytes bounds the bytes of a key (tenant, application, module, IP,
// user, method) the statistics keep, so that their memory is bounded in
// bytes, not only in keys: a longer one (a hostile header, say) is kept as
// its first bytes, "…" and a hash of the whole, which keeps long keys apart.
// A dimension's key that is not valid UTF-8 is kept with U+FFFD for each
// run of invalid bytes (see dimKey), and asked for so: two such keys that
// differ only in their invalid bytes share a row. A tenant's name that is
// not valid UTF-8 is kept so too, with "…" and a hash of the whole name
// added, so that such tenants keep rows of their own (see tenantKey);
// Stats.TenantName gives back the name of a tenant kept under such a key.
const MaxKeyBytes = 256

// dimKey returns k as the statistics keep a key of a dimension (an
// application, module, IP, user or method: what clients send): valid
// UTF-8, each run of invalid bytes replaced by U+FFFD (as JSON shows
// them, so that a dashboard asking for a row's key as it was shown finds
// it), and clipped (see MaxKeyBytes). Tenants are kept by tenantKey.
func dimKey(k string) string {
	if validName(k) {
		return clip(k)
	}
	v := strings.ToValidUTF8(k[:min(len(k), MaxKeyBytes)], "\uFFFD") // the first bytes only: k may be huge
	if len(k) <= MaxKeyBytes && len(v) <= MaxKeyBytes {
		return v
	}
	return clipped(k, v)
}

// tenantKey returns tenant k as the statistics keep it: clipped (see
// MaxKeyBytes) and, if not valid UTF-8, made valid as dimKey does with
// "…" and a hash of the whole name always added. A tenant is the pool
// that the dashboard drills into, so two names that differ only in their
// invalid bytes (which JSON shows alike) must not share a row, and the
// row's key, as JSON shows it, must ask for it again (it is valid UTF-8
// and no longer than MaxKeyBytes, which tenantKey returns unchanged).
func tenantKey(k string) string {
	if validName(k) { // on every event aggregated: see validName
		return clip(k)
	}
	return clipped(k, strings.ToValidUTF8(k[:min(len(k), MaxKeyBytes)], "\uFFFD"))
}

// clip returns k, or its clipped form (see MaxKeyBytes).
func clip(k string) string {
	if len(k) <= MaxKeyBytes {
		return k
	}
	return clipped(k, k)
}

// keySeed keys the hash of clipped: random per process, so that a client
// cannot pick keys that share a kept key (as with a public hash such as
// FNV). Kept keys live in memory only: nothing carries them to another
// process.
var keySeed = maphash.MakeSeed()

// clipped returns the first bytes of p (k, or k made valid UTF-8), "…" and
// a hash of k.
func clipped(k, p string) string {
	sum := strconv.FormatUint(maphash.String(keySeed, k), 16)
	n := min(len(p), MaxKeyBytes-len("…")-len(sum))
	// Do not cut a character in two: back up to its first byte, at most
	// UTFMax-1 bytes. (Cutting until the prefix was valid UTF-8 left
	// nothing of a key with an invalid byte near its start.)
	for i := 0; i < utf8.UTFMax-1 && n > 0 && n < len(p) && !utf8.RuneStart(p[n]); i++ {
		n--
	}
	return p[:n] + "…" + sum
}
