package redis

import (
	"encoding/base64"
	"sync"
	"sync/atomic"

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

	mu      sync.Mutex // protects apps, classes, blk and deg
	apps    map[string]string
	classes map[string]string
	blk     *block         // credit leasing (nil: none)
	bwant   int64          // the next block's size
	deg     *degraded      // failure mode state (nil: none)
	owed    int64          // credits spent while Redis was unreachable, to book
	last    store.Decision // the pool as the last step saw it
	pend    []rel          // released slots not yet sent (see release.go)
}

func newTenant(prefix, name string) *tenant {
	tag := prefix + "{" + base64.RawURLEncoding.EncodeToString([]byte(name)) + "}"
	return &tenant{name: name, tag: tag, kw: tag + ":w", kq: tag + ":q",
		apps: map[string]string{}, classes: map[string]string{}}
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
// tenants that hold nothing local (no block, no degraded state).
type tenants struct {
	prefix string
	max    int
	n      atomic.Int64
	m      sync.Map // string -> *tenant
}

func (ts *tenants) get(name string) *tenant {
	if v, ok := ts.m.Load(name); ok {
		return v.(*tenant)
	}
	t := newTenant(ts.prefix, name)
	if v, loaded := ts.m.LoadOrStore(name, t); loaded {
		return v.(*tenant)
	}
	if ts.n.Add(1) > int64(ts.max) {
		ts.trim()
	}
	if testHooks && gotHook != nil {
		gotHook(name)
	}
	return t
}

// gotHook, when set (tests built with -tags creditgate_testhooks), runs in
// get just before it returns a tenant it made; trimHook at each trim.
var (
	gotHook  func(name string)
	trimHook func()
)

func (ts *tenants) trim() {
	if testHooks && trimHook != nil {
		trimHook()
	}
	ts.m.Range(func(k, v any) bool {
		t := v.(*tenant)
		t.mu.Lock()
		idle := t.blk == nil && t.deg == nil && t.owed == 0 && len(t.pend) == 0
		t.mu.Unlock()
		if idle {
			ts.m.Delete(k)
			ts.n.Add(-1)
		}
		return true
	})
}

// each calls fn for every cached tenant.
func (ts *tenants) each(fn func(*tenant)) {
	ts.m.Range(func(_, v any) bool {
		fn(v.(*tenant))
		return true
	})
}
