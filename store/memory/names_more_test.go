package memory

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
	"unsafe"

	"github.com/creditgate/creditgate/store"
)

// inString reports whether s's bytes lie inside big's.
func inString(s, big string) bool {
	if len(s) == 0 || len(big) == 0 {
		return false
	}
	p, b := uintptr(unsafe.Pointer(unsafe.StringData(s))), uintptr(unsafe.Pointer(unsafe.StringData(big)))
	return p >= b && p < b+uintptr(len(big))
}

// A hostile stream of distinct application names, each a slice of one large
// caller string, over tenants whose tables drop idle applications and that
// fold and come back: the table of names stays within maxNames, no entry
// keeps the caller's string, every entry's name is its application's, and
// the bytes counted are what the tenants cost.
func TestAppNamesHostileStream(t *testing.T) {
	s := New(WithMaxApps(4), WithIdleAfter(time.Second))
	var b strings.Builder
	var offs []int
	for i := range 3 * maxNames {
		offs = append(offs, b.Len())
		if i%7 == 0 { // some too long to keep
			fmt.Fprintf(&b, "%0*d", maxNameBytes+1, i)
		} else {
			fmt.Fprintf(&b, "app-%d", i)
		}
	}
	offs = append(offs, b.Len())
	big := b.String()
	now := foldT0
	for i := range 3 * maxNames {
		app := big[offs[i]:offs[i+1]]
		tenant := fmt.Sprint("t", i%16)
		var l Lease
		var d store.Decision
		s.Take(now, &store.Request{Tenant: tenant, App: app}, foldPlans, &l, &d)
		if !d.Allowed {
			t.Fatalf("take %d (%s/%s) refused: %v", i, tenant, app, d.Reason)
		}
		if e := l.t.findApp(app); e == nil || *e.name != app || inString(*e.name, big) {
			t.Fatalf("take %d: entry %v for %q (in the caller's string: %v)", i, e, app, e != nil && inString(*e.name, big))
		}
		s.Release(&l)
		if i%500 == 499 { // all idle: fold them, then they come back
			now = now.Add(2 * time.Second)
			if n := s.Sweep(now); n != 16 {
				t.Fatalf("take %d: %d tenants folded, want 16", i, n)
			}
		}
	}
	if n := s.names.n.Load(); n > maxNames {
		t.Errorf("%d names kept, more than maxNames (%d)", n, maxNames)
	}
	kept := 0
	s.names.m.Range(func(k, v any) bool {
		kept++
		if inString(k.(string), big) || inString(*v.(*string), big) {
			t.Errorf("the table keeps %q in the caller's string", k)
		}
		return true
	})
	if int64(kept) != s.names.n.Load() {
		t.Errorf("%d names in the table, %d counted", kept, s.names.n.Load())
	}
	var sum int64
	for i := range 16 {
		if tn := s.lookup(fmt.Sprint("t", i)); tn != nil {
			if tn.cost != tenantCost(tn) {
				t.Errorf("t%d: cost %d counted, tenantCost %d", i, tn.cost, tenantCost(tn))
			}
			sum += int64(tn.cost)
		}
	}
	if s.Folded() == 0 && s.Bytes() != sum {
		t.Errorf("%d bytes counted, the tenants cost %d", s.Bytes(), sum)
	}
}

// Many tenants' first uses of one application at once (-race): every entry
// ends with the same one copy of its name.
func TestAppNamesConcurrentFirstUse(t *testing.T) {
	s := New()
	big := strings.Repeat("z", 64) + "shared-app" + strings.Repeat("z", 64)
	app := big[64 : 64+len("shared-app")]
	const g = 32
	entries := make([]*semEntry, g)
	var start, wg sync.WaitGroup
	start.Add(1)
	for i := range g {
		wg.Go(func() {
			start.Wait()
			var l Lease
			var d store.Decision
			s.Take(foldT0, &store.Request{Tenant: fmt.Sprint("t", i), App: app, Credits: 1}, foldPlans, &l, &d)
			if !d.Allowed {
				t.Errorf("t%d refused: %v", i, d.Reason)
				return
			}
			entries[i] = l.t.app0.Load()
			s.Release(&l)
		})
	}
	start.Done()
	wg.Wait()
	if t.Failed() {
		return
	}
	for i, e := range entries {
		if *e.name != "shared-app" || inString(*e.name, big) ||
			unsafe.StringData(*e.name) != unsafe.StringData(*entries[0].name) {
			t.Fatalf("t%d's entry: %q, not the one copy", i, *e.name)
		}
	}
	if n := s.names.n.Load(); n != 2 { // "shared-app", and foldPlan's class "bulk"
		t.Errorf("%d names kept, want 2", n)
	}
}
