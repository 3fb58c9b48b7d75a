package redis

import (
	"context"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	goredis "github.com/redis/go-redis/v9"
)

// Releases leave the caller's path: Release queues the slots on their
// tenant, the tenant's next step sends them in the same pipeline, ahead
// of its script, or in the script itself for a take on the same slots
// (so this instance never sees its own released slot as held, and a
// release costs no round trip of its own), and a flusher
// sends what no step took, every flushDelay while releases keep coming
// (one wakeup per period, not per release: waking a goroutine per call
// doubled a call's latency on two busy cores). They are plain ZREMs
// (idempotent: sending one twice is harmless).

// rel is one released slot.
type rel struct{ akey, ckey, member string }

// flushDelay is how long a release waits for a step to carry it, at most.
const flushDelay = time.Millisecond

// releaser holds the tenants with queued releases.
type releaser struct {
	mu    sync.Mutex // protects dirty
	dirty []*tenant
	armed atomic.Bool   // the flusher is running its periods
	kick  chan struct{} // buffered 1: wakes an idle flusher
	done  chan struct{}
}

// queue adds r to t's releases and wakes the flusher.
func (s *Store) queue(t *tenant, r rel) {
	t.mu.Lock()
	first := len(t.pend) == 0
	t.pend = append(t.pend, r)
	t.mu.Unlock()
	if !first {
		return // t is listed already
	}
	s.rel.mu.Lock()
	s.rel.dirty = append(s.rel.dirty, t)
	s.rel.mu.Unlock()
	if s.rel.armed.CompareAndSwap(false, true) {
		s.rel.kick <- struct{}{}
	}
}

// takePending takes t's queued releases (to send with a step). If the
// flusher is sending releases it took from t, it waits until they have
// reached Redis (at most the flush's timeout): a step sent on another
// connection could otherwise run first and find those slots held.
func (t *tenant) takePending() []rel {
	t.mu.Lock()
	p, w := t.pend, t.flushed
	t.pend = nil
	t.mu.Unlock()
	if w != nil {
		<-w
	}
	return p
}

// takeForFlush takes t's queued releases for the flusher, marking them in
// flight until flushDone when there are any.
func (t *tenant) takeForFlush() []rel {
	t.mu.Lock()
	defer t.mu.Unlock()
	p := t.pend
	t.pend = nil
	if len(p) > 0 {
		if t.flushes == 0 {
			t.flushed = make(chan struct{})
		}
		t.flushes++
	}
	return p
}

// flushDone ends what takeForFlush marked.
func (t *tenant) flushDone() {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.flushes--; t.flushes == 0 {
		close(t.flushed)
		t.flushed = nil
	}
}

// split parts rs into the releases of other slots and the members of the
// slots akey and ckey (which a take on them removes in its script).
func split(rs []rel, akey, ckey string) (other []rel, same []string) {
	other = rs[:0]
	for _, r := range rs {
		if r.akey == akey && r.ckey == ckey {
			same = append(same, r.member)
		} else {
			other = append(other, r)
		}
	}
	return other, same
}

// zrems queues the ZREMs of rs on p.
func zrems(ctx context.Context, p goredis.Pipeliner, rs []rel) {
	for _, r := range rs {
		p.ZRem(ctx, r.akey, unitMembers(r.member)...)
		if r.ckey != "" {
			p.ZRem(ctx, r.ckey, r.member)
		}
	}
}

// unitMembers is the members of the application's key that member holds:
// member, then member#2 up to member#units (as L.ahold in ops.lua).
func unitMembers(member string) []any {
	n := memberUnits(member)
	ms := make([]any, 1, n)
	ms[0] = member
	for i := int64(2); i <= n; i++ {
		ms = append(ms, member+"#"+strconv.FormatInt(i, 10))
	}
	return ms
}

// flushHook, when set (tests built with -tags creditgate_testhooks), runs
// in flush between taking the tenants' releases and sending them.
var flushHook func()

// flusher sends the releases no step carried, every flushDelay while
// there are any, until stop; then the rest.
func (s *Store) flusher() {
	defer close(s.rel.done)
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	for {
		select {
		case <-s.stop:
			s.flush()
			return
		case <-s.rel.kick:
		}
		for {
			timer.Reset(flushDelay)
			select {
			case <-timer.C:
			case <-s.stop:
				timer.Stop()
				s.flush()
				return
			}
			if s.flush() {
				continue
			}
			s.rel.armed.Store(false)
			// a release queued since the flush saw the flusher armed
			if !s.rel.hasDirty() || !s.rel.armed.CompareAndSwap(false, true) {
				break
			}
		}
	}
}

func (r *releaser) hasDirty() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.dirty) > 0
}

// flush sends every queued release in one pipeline, and reports whether
// any tenant was listed. A failure leaves the slots to expire with their
// leases.
func (s *Store) flush() bool {
	s.rel.mu.Lock()
	ts := s.rel.dirty
	s.rel.dirty = nil
	s.rel.mu.Unlock()
	var all []rel
	var sending []*tenant
	for _, t := range ts {
		if p := t.takeForFlush(); len(p) > 0 {
			all = append(all, p...)
			sending = append(sending, t)
		}
	}
	if len(all) == 0 {
		return len(ts) > 0
	}
	defer func() { // the tenants' next steps may go now
		for _, t := range sending {
			t.flushDone()
		}
	}()
	if testHooks && flushHook != nil {
		flushHook()
	}
	probe, ok := s.brk.allow(time.Now())
	if !ok {
		return true
	}
	ctx, cancel := context.WithTimeout(context.Background(), s.cfg.timeout)
	defer cancel()
	send := func() error {
		s.stats.roundTrips.Add(1)
		_, err := s.c.Pipelined(ctx, func(p goredis.Pipeliner) error {
			zrems(ctx, p, all)
			return nil
		})
		return err
	}
	// A slot on the move (see moving) refused some removals without running
	// them: all are sent again, as a ZREM done twice is done once.
	err := whileMoving(ctx, send(), send)
	if err != nil {
		s.stats.errors.Add(1) // every failure the breaker counts is an error in Stats
	}
	s.brk.done(err == nil, probe, time.Now())
	return true
}
