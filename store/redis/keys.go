package redis

import (
	"encoding/base64"
	"sync"
	"sync/atomic"
	"time"

	"github.com/creditgate/creditgate/store"
)

// tenant is what an instance keeps about a tenant: its keys (one hash tag:
// the tenant's name in base64, so any bytes, braces included, name one
// slot of a cluster), the plan override SetPlan stored in Redis as last
// seen, and the credit block it leases.
type tenant struct {
	name string
	tag  string // prefix + "{" + name64 + "}"
	kw   string
	kq   string

	override atomic.Pointer[planInfo] // the plan Redis holds for the tenant, nil if none seen
	lastPlan atomic.Pointer[planInfo] // the plan of the last step (for reconciling)

	mu      sync.Mutex // protects apps, classes, blk, deg and the debts
	apps    map[string]string
	classes map[string]string
	blk     *block         // credit leasing (nil: none)
	bwant   int64          // the next block's size
	deg     *degraded      // failure mode state (nil: none)
	owed    int64          // credits spent while Redis was unreachable, to book
	last    store.Decision // the pool as the last step saw it
	pend    []rel          // released slots not yet sent (see release.go)
	// flushed is closed when the releases the flusher took from pend have
	// reached Redis (or failed); nil when it is sending none. flushes
	// counts its sends under way. See takePending.
	flushed chan struct{}
	flushes int
	// owedSteps are charges (and settles) that failed after they were
	// sent, and refunds that failed: they may have run, so they are
	// booked by sending them again with their step ids (see oweStep,
	// oweRefund).
	owedSteps []owedStep

	refs atomic.Int64 // steps under way, leases out and spare slots; -1: dropped from the cache
	// fresh counts t's slots Degraded admitted that Redis does not hold
	// yet (see held.fresh), changed under leases.mu.
	fresh atomic.Int64
}

func newTenant(prefix, name string) *tenant {
	tag := prefix + "{" + name64(name) + "}"
	return &tenant{name: name, tag: tag, kw: tag + ":w", kq: tag + ":q",
		apps: map[string]string{}, classes: map[string]string{}}
}

// emptyTag is the empty name's hash tag: its base64 is empty, and Redis
// hashes a key with an empty tag ("{}") whole, putting the tenant's keys
// in different cluster slots (CROSSSLOT). "=" is in no raw base64.
const emptyTag = "="

// name64 is name in base64, the tenant's hash tag.
func name64(name string) string {
	if name == "" {
		return emptyTag
	}
	return base64.RawURLEncoding.EncodeToString([]byte(name))
}

// appKey is the key of app's leases.
func (t *tenant) appKey(app string) string {
	t.mu.Lock()
	defer t.mu.Unlock()
	k, ok := t.apps[app]
	if !ok {
		if len(t.apps) >= maxNames {
			clear(t.apps)
		}
		k = t.tag + ":a:" + base64.RawURLEncoding.EncodeToString([]byte(app))
		t.apps[app] = k
	}
	return k
}

// classKey is the key of class's leases.
func (t *tenant) classKey(class string) string {
	t.mu.Lock()
	defer t.mu.Unlock()
	k, ok := t.classes[class]
	if !ok {
		if len(t.classes) >= maxNames {
			clear(t.classes)
		}
		k = t.tag + ":c:" + base64.RawURLEncoding.EncodeToString([]byte(class))
		t.classes[class] = k
	}
	return k
}

// maxNames bounds the key names a tenant caches per kind.
const maxNames = 1024

// tenants is the instance's tenant cache, bounded: past max it drops the
// tenants that hold nothing local (see drop) and that no step or lease has
// pinned. A step changes a tenant's local state only while it holds a pin
// (get's, or its lease's), and a dropped tenant can be pinned no more: so
// no block, debt or share goes to a tenant the cache no longer lists.
type tenants struct {
	prefix string
	max    int
	n      atomic.Int64
	// next is the size past which get trims: max, or more after a trim
	// that left many busy tenants, so that trims scan the cache once per
	// many new tenants (the background tick trims back to max).
	next     atomic.Int64
	trimming sync.Mutex // one trim at a time
	m        sync.Map   // string -> *tenant
}

// pin marks t in use by a step or a lease; false if t was dropped.
func (t *tenant) pin() bool {
	for {
		r := t.refs.Load()
		if r < 0 {
			return false
		}
		if t.refs.CompareAndSwap(r, r+1) {
			return true
		}
	}
}

func (t *tenant) unpin() { t.refs.Add(-1) }

// get returns name's tenant pinned: the caller unpins it when done (an
// admission's lease holds the pin until Release).
func (ts *tenants) get(now time.Time, name string) *tenant {
	for {
		if v, ok := ts.m.Load(name); ok {
			t := v.(*tenant)
			if t.pin() {
				return t
			}
			ts.m.CompareAndDelete(name, t) // being dropped: its trim deletes it too
			continue
		}
		t := newTenant(ts.prefix, name)
		t.refs.Store(1)
		if _, loaded := ts.m.LoadOrStore(name, t); loaded {
			continue
		}
		if ts.n.Add(1) > max(ts.next.Load(), int64(ts.max)) {
			ts.trim(now)
		}
		if testHooks && gotHook != nil {
			gotHook(name)
		}
		return t
	}
}

// gotHook, when set (tests built with -tags creditgate_testhooks), runs in
// get just before it returns a tenant it made; trimHook at each trim.
var (
	gotHook  func(name string)
	trimHook func()
)

// drop marks t dropped if it holds nothing local (no block, no debt, no
// queued release, no degraded share with spending still in its windows: one
// without is as good as a new one) and no one has pinned it (slots held
// are pins). Under t.mu, where pinned steps change that state: a step that
// pinned, changed and unpinned between a check and the mark is not missed.
func (t *tenant) drop(now time.Time) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	g := t.deg
	return t.blk == nil && t.owed == 0 && len(t.owedSteps) == 0 && len(t.pend) == 0 &&
		(g == nil || g.idle(now)) &&
		t.refs.CompareAndSwap(0, -1)
}

// trim drops the idle tenants no one has pinned. It then lets the cache
// grow by a quarter of its size (at least of max) before the next trim:
// a full scan per new tenant, with the cache full of busy ones, was
// quadratic.
func (ts *tenants) trim(now time.Time) {
	if !ts.trimming.TryLock() {
		return // another caller is trimming
	}
	defer ts.trimming.Unlock()
	if testHooks && trimHook != nil {
		trimHook()
	}
	ts.m.Range(func(k, v any) bool {
		t := v.(*tenant)
		if t.refs.Load() == 0 && t.drop(now) {
			ts.m.CompareAndDelete(k, t)
			ts.n.Add(-1)
		}
		return true
	})
	left := ts.n.Load()
	ts.next.Store(left + max(left, int64(ts.max))/4)
}

// each calls fn for every cached tenant.
func (ts *tenants) each(fn func(*tenant)) {
	ts.m.Range(func(_, v any) bool {
		fn(v.(*tenant))
		return true
	})
}
