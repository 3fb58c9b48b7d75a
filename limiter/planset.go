package limiter

import (
	"reflect"
	"slices"
	"strconv"
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
	// A store that keeps no plans (store/redis) asks on every step: the
	// key is built on the stack, and a hit allocates nothing.
	var buf [256]byte
	k := appendPlanKey(buf[:0], &p)
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
	s.m[string(k)] = append(s.m[string(k)], &c)
	s.n++
	return &c
}

// find returns the plan of key k whose locations are p's, nil if none.
// Called with s.mu held.
func (s *planSet) find(k []byte, p *Plan) *Plan {
	for _, q := range s.m[string(k)] {
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

// appendPlanKey appends the content of p, in a canonical order, to b.
// Strings are quoted, so no two plans share a key.
func appendPlanKey(b []byte, p *Plan) []byte {
	b = strconv.AppendQuote(b, p.Name)
	b = append(b, '|')
	b = strconv.AppendInt(b, p.Credits, 10)
	b = append(b, '|')
	b = strconv.AppendInt(b, int64(p.WindowLength()), 10)
	b = appendCalendar(b, p.Calendar)
	b = append(b, '|')
	b = strconv.AppendInt(b, p.Concurrency, 10)
	b = append(b, '+')
	b = strconv.AppendInt(b, p.AddOns, 10)
	var small [8]string
	classes := small[:0]
	for c := range p.SubConcurrency {
		classes = append(classes, c)
	}
	slices.Sort(classes)
	for _, c := range classes {
		b = append(b, '|')
		b = strconv.AppendQuote(b, c)
		b = append(b, '=')
		b = strconv.AppendInt(b, p.SubConcurrency[c], 10)
	}
	for _, x := range p.Extra {
		b = append(b, '/')
		b = strconv.AppendInt(b, x.Credits, 10)
		b = append(b, '/')
		b = strconv.AppendInt(b, int64(x.Window), 10)
		b = appendCalendar(b, x.Calendar)
	}
	return b
}

// appendCalendar appends c's reset and location name ("-" for none).
func appendCalendar(b []byte, c *Calendar) []byte {
	if c == nil {
		return append(b, "|-"...)
	}
	b = append(b, '|')
	b = strconv.AppendInt(b, int64(c.Reset), 10)
	b = append(b, '@')
	return strconv.AppendQuote(b, c.Location.String())
}
