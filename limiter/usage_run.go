package limiter

import (
	"runtime"
	"sync/atomic"
	"time"
	"unsafe"
)

// A Limiter with the in-memory store and usage statistics counts each
// tenant's admitted calls in the tenant itself, as a run: the keys of its
// latest call (hour, application, module, IP, user, method) and the calls
// and credits of the calls since that shared them. An admission whose keys
// match adds to the run under the tenant's own lock, on the cache line the
// admission has just written; only a change of keys hands the finished run
// to the Usage's buffers. At 100,000 tenants round-robin that replaces an
// event per call, which the aggregator had to fold into its maps one by one,
// with one per tenant and key change; with one tenant it replaces a shared
// buffer's lock. Refusals and settled differences still go to the buffers.
//
// Nothing stays behind: a run is handed over when the statistics are read
// (Usage.collect), when its tenant is evicted (MemoryStore.kill) and when
// the Limiter closes. A tenant keeps the strings of its latest call until
// then, as the buffers keep theirs until aggregated.
type usageRun struct {
	from                        int64 // the run's hour's start, Unix ns
	app, module, ip, user, meth string
}

// sameString is a == b, with the common case, where a caller passes the
// same string again, decided by a pointer compare without a call.
func sameString(a, b string) bool {
	return len(a) == len(b) && (unsafe.StringData(a) == unsafe.StringData(b) || a == b)
}

func (t *tenant) lockRun() {
	for !t.runMu.CompareAndSwap(0, 1) {
		runtime.Gosched() // held for a few compares: the holder was preempted
	}
}

func (t *tenant) unlockRun() { t.runMu.Store(0) }

// recordRun counts an admitted call of t, made at ns (Unix), into t's run;
// a call whose keys differ ends the run, which goes to u, and starts the
// next. It reports false when it did not count the call, which the caller
// then records into the buffers: when the run is locked, or when live is no
// longer set (having handed over what t's run held): a closing Limiter
// clears it and then collects every run, so a call that saw it set but
// takes the lock after that collection must not start a run nobody will
// collect.
func (t *tenant) recordRun(u *Usage, live *atomic.Bool, ns int64, req *Request) bool {
	r := t.run()
	if r == nil || !t.runMu.CompareAndSwap(0, 1) {
		// A tenant made before its store kept runs has none. Or another
		// core is counting a call of this tenant: rather than wait (which
		// on one busy tenant cost more than the buffers), this call goes
		// to the buffers, and its Settle follows it there.
		return false
	}
	if uint64(ns-r.from) < uint64(time.Hour) && sameString(r.app, req.App) && sameString(r.module, req.Module) &&
		sameString(r.ip, req.IP) && sameString(r.user, req.User) && sameString(r.meth, req.Method) && live.Load() {
		t.runCredits += req.Credits
		t.runCalls++
		t.unlockRun()
		return true
	}
	t.pushRun(u)
	counted := live.Load()
	if counted {
		*r = usageRun{from: hourOfNs(ns) * int64(time.Hour), app: req.App, module: req.Module,
			ip: req.IP, user: req.User, meth: req.Method}
		t.runCredits, t.runCalls = req.Credits, 1
	} else {
		*r = usageRun{}
	}
	t.unlockRun()
	return counted
}

// pushAdjust records a settled difference of one of t's calls. That call
// may still be in t's run, and the aggregator must see a call before its
// settled difference (a difference that came first would compete for a row
// on its own at the cardinality cap), so the run goes first, into the same
// buffer. Every push of t's runs is made holding runMu, so none can pass
// another.
func (t *tenant) pushAdjust(u *Usage, at time.Time, app string, delta int64) {
	t.lockRun()
	t.pushRun(u)
	u.adjust(at, t.hash, t.key, app, delta)
	t.unlockRun()
}

// pushRun hands what t's run counted, if anything, to u and empties its
// counts (not its keys). Called with runMu held: see pushAdjust.
func (t *tenant) pushRun(u *Usage) {
	if e, ok := t.takeRun(); ok {
		u.push(t.hash, &e)
	}
}

// takeRun returns t's run as an event and empties its counts (not its
// keys); ok is false if it counted nothing. Called with runMu held.
func (t *tenant) takeRun() (e usageEvent, ok bool) {
	if t.runCalls == 0 && t.runCredits == 0 {
		return e, false
	}
	r := t.run()
	e = usageEvent{hour: r.from / int64(time.Hour), tenant: t.key, app: r.app, module: r.module, ip: r.ip,
		user: r.user, meth: r.meth, credits: t.runCredits, calls: t.runCalls}
	t.runCredits, t.runCalls = 0, 0
	return e, true
}

// flushRun hands t's run to u, if it counted anything, and forgets its keys
// (and so the caller's strings).
func (t *tenant) flushRun(u *Usage) {
	r := t.run()
	if r == nil {
		return
	}
	t.lockRun()
	t.pushRun(u)
	*r = usageRun{}
	t.unlockRun()
}

// flushRuns hands every tenant's run to u.
func (s *MemoryStore) flushRuns(u *Usage) {
	for i := range s.shards {
		for _, t := range s.shards[i].tenants() {
			t.flushRun(u)
		}
	}
}

// claimRuns makes s's tenants keep runs for u, unless they already keep
// them for another Usage (two Limiters with different statistics sharing a
// store: the second then records every call into its buffers).
func (s *MemoryStore) claimRuns(u *Usage) bool {
	if !s.runUsage.CompareAndSwap(nil, u) && s.runUsage.Load() != u {
		return false
	}
	u.addSource(s)
	return true
}

// countRun is recordRun for the lease's call, noting in the lease where the
// call was counted: its settled difference must follow it (see pushAdjust),
// and one recorded into the buffers is followed there by the ticket's.
func (ml *memLease) countRun(u *Usage, live *atomic.Bool, req *Request) bool {
	ml.inRun = ml.t.recordRun(u, live, ml.at, req) // at: the admission's time, Unix ns
	return ml.inRun
}
