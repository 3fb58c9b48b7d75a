package limiter

import (
	"fmt"
	"reflect"
	"slices"
	"sync"
)

// planSet hands out one *Plan per distinct plan: WithPlanFor builds a new
// Plan value per call, and a store that keeps per-plan state (store/redis
// caches each plan's encoding, and leases credits per plan) must see the
// same pointer for the same plan, not a new one per request.
type planSet struct {
	mu sync.RWMutex // protects m and n
	// m holds the plans by planKey, which names their locations only:
	// plans whose locations share a name but not their rules (fixed zones
	// built with one name, say) share a key, not a pointer.
	m map[string][]*Plan
	n int // plans in m
}

// maxPlans bounds the set: past it, it starts again (the pointers it gave
// out stay valid; they are only no longer shared with new ones).
const maxPlans = 4096

func (s *planSet) get(p Plan) *Plan {
	k := planKey(&p)
	s.mu.RLock()
	q := s.find(k, &p)
	s.mu.RUnlock()
	if q != nil {
		return q
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if q = s.find(k, &p); q != nil {
		return q
	}
	if s.m == nil || s.n >= maxPlans {
		s.m, s.n = map[string][]*Plan{}, 0
	}
	c := p.Clone()
	s.m[k] = append(s.m[k], &c)
	s.n++
	return &c
}

// find returns the plan of key k whose locations are p's, nil if none.
// Called with s.mu held.
func (s *planSet) find(k string, p *Plan) *Plan {
	for _, q := range s.m[k] {
		if sameLocations(q, p) {
			return q
		}
	}
	return nil
}

// sameLocations reports whether the calendars of a and b, which have the
// same planKey, are in the same locations: the same pointer, or the same
// rules (time.LoadLocation returns a new pointer per call).
func sameLocations(a, b *Plan) bool {
	same := func(x, y *Calendar) bool {
		return x == nil || x.Location == y.Location || reflect.DeepEqual(x.Location, y.Location)
	}
	if !same(a.Calendar, b.Calendar) {
		return false
	}
	for i := range a.Extra {
		if !same(a.Extra[i].Calendar, b.Extra[i].Calendar) {
			return false
		}
	}
	return true
}

// planKey is the content of p, in a canonical order.
func planKey(p *Plan) string {
	classes := make([]string, 0, len(p.SubConcurrency))
	for c, n := range p.SubConcurrency {
		classes = append(classes, fmt.Sprintf("%q=%d", c, n))
	}
	slices.Sort(classes)
	cal := func(c *Calendar) string {
		if c == nil {
			return "-"
		}
		return fmt.Sprintf("%d@%s", c.Reset, c.Location)
	}
	k := fmt.Sprintf("%q|%d|%d|%s|%d|%v", p.Name, p.Credits, p.WindowLength(), cal(p.Calendar), p.Concurrency, classes)
	for _, x := range p.Extra {
		k += fmt.Sprintf("|%d/%d/%s", x.Credits, x.Window, cal(x.Calendar))
	}
	return k
}
