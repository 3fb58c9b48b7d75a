package limiter

import (
	"fmt"
	"slices"
	"sync"
)

// planSet hands out one *Plan per distinct plan: WithPlanFor builds a new
// Plan value per call, and a store that keeps per-plan state (store/redis
// caches each plan's encoding, and leases credits per plan) must see the
// same pointer for the same plan, not a new one per request.
type planSet struct {
	mu sync.RWMutex // protects m
	m  map[string]*Plan
}

// maxPlans bounds the set: past it, it starts again (the pointers it gave
// out stay valid; they are only no longer shared with new ones).
const maxPlans = 4096

func (s *planSet) get(p Plan) *Plan {
	k := planKey(&p)
	s.mu.RLock()
	q := s.m[k]
	s.mu.RUnlock()
	if q != nil {
		return q
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if q = s.m[k]; q != nil {
		return q
	}
	if s.m == nil || len(s.m) >= maxPlans {
		s.m = map[string]*Plan{}
	}
	c := p.Clone()
	s.m[k] = &c
	return &c
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
