package window

import (
	"time"

	"github.com/creditgate/creditgate/internal/spin"
)

// TryAcquireAt takes n credits at now if all n are available.
func (r *Rolling) TryAcquireAt(now time.Time, n int64) (bool, error) {
	L := r.limit.Load()
	if uint64(n-1) >= uint64(L) { // n <= 0 or n > L, in one compare
		if n <= 0 {
			return false, ErrInvalidCount
		}
		return false, ErrExceedsLimit
	}
	// TakeAt's path without the Take it builds: this is the pool rows' call.
	g := r.g // loaded once: fast needs it too
	u := g.toU(now)
	ok, done, spent := r.fast(g, u, n, L)
	if done {
		return ok, nil
	}
	if spent == lostSwap {
		backoff()
	}
	took, _, _, _ := r.take(u, n, 0, false)
	return took != 0, nil
}

// TakeAt takes n credits at now, leaving at least keep of the limit untaken
// (a reserve held for others): all n or nothing, or with partial as many as
// fit. The Take it returns is read in the same atomic step as the change.
// Bad input (n <= 0) takes nothing.
func (r *Rolling) TakeAt(now time.Time, n, keep int64, partial bool) Take {
	return r.TakeUnixNano(UnixNano(now), n, keep, partial)
}

// TakeUnixNano is TakeAt at the instant ns, UnixNano(now): for a caller that
// needs ns as well, which it then computes once.
func (r *Rolling) TakeUnixNano(ns, n, keep int64, partial bool) Take {
	L := r.limit.Load()
	g := r.g
	u := g.nsToU(ns)
	if n <= 0 {
		// A peek. Spent is what the window counts, not L less what
		// remains: under a lowered limit more may be spent than L.
		spent := r.spent(r.sync(u))
		return Take{Spent: spent, Remaining: max(L-spent, 0)}
	}
	lim := under(L, keep)
	if !partial {
		// fast, written out: called, it cost this function spills around
		// the call and the unpacking of its results, 13 instructions of
		// the limiter's admission. The same decision in the same order of
		// loads: keep the two in step (the hook tests run both).
		e := r.head.Load()
		s := e + g.quo
		if x := u - (s*g.width + g.rem); e&busy == 0 && x < g.width {
			if x+g.rem >= g.width {
				s++
			}
			if testHooks && takeHook != nil {
				takeHook()
			}
			if c := r.cur.Load(); c>>amountBits == s&tagMask {
				if testHooks && loadHook != nil {
					loadHook()
				}
				if p := r.past.Load(); r.head.Load() == e {
					spent := p + int64(c&amountMask)
					if n > lim-spent {
						return Take{Spent: spent, Remaining: max(L-spent, 0)}
					}
					if r.cur.CompareAndSwap(c, c+uint64(n)) {
						spent += n
						return Take{Took: n, Spent: spent, Remaining: max(L-spent, 0)}
					}
					backoff() // lost the swap: see fast's lostSwap
				}
			}
		}
	}
	took, _, _, spent := r.take(u, n, keep, partial)
	return Take{Took: took, Spent: spent, Remaining: max(L-spent, 0)}
}

// fast is take's common case, kept apart because take's generality (partial
// takes, the counted instant, promotion, rolls, the retry loop) costs about a
// nanosecond on a path that is otherwise one compare-and-swap: the frontier is
// where u expects it and cur already holds u's slot. It decides exactly as
// take would, in the same order of loads (see Rolling), or reports done=false
// and leaves the decision to take. L is the limit less what must be kept.
//
// spent is what the window holds spent after the decision when done, and
// lostSwap when not done because another caller changed cur between its
// load and the swap: the caller then backs off (spin.Backoff) before take
// tries again, so that two cores do not trade cur's line at every step.
// TakeUnixNano has its own copy, written out (see there).
func (r *Rolling) fast(g *geometry, u uint64, n, L int64) (ok, done bool, spent int64) {
	e := r.head.Load()
	// base, the instant frontier e became current, is e*w + W = (e+quo)*w
	// + rem: one multiply, and e+quo is u's slot or the one before it.
	s := e + g.quo
	x := u - (s*g.width + g.rem)     // u's offset past base
	if e&busy != 0 || x >= g.width { // u < base wraps around: also out
		return false, false, 0
	}
	if x+g.rem >= g.width {
		s++
	}
	if testHooks && takeHook != nil {
		takeHook()
	}
	c := r.cur.Load()
	if c>>amountBits != s&tagMask {
		return false, false, 0
	}
	if testHooks && loadHook != nil {
		loadHook()
	}
	p := r.past.Load()
	if r.head.Load() != e {
		return false, false, 0
	}
	spent = p + int64(c&amountMask)
	if n > L-spent {
		return false, true, spent
	}
	if r.cur.CompareAndSwap(c, c+uint64(n)) {
		return true, true, spent + n
	}
	return false, false, lostSwap
}

// TryAcquire is shorthand for TryAcquireAt(time.Now(), n).
func (r *Rolling) TryAcquire(n int64) (bool, error) { return r.TryAcquireAt(time.Now(), n) }

func (r *Rolling) stepTok(now time.Time, n, keep int64, partial bool) (Take, uint64) {
	L := r.limit.Load()
	took, s, _, spent := r.take(r.toU(now), n, keep, partial)
	return Take{Took: took, Spent: spent, Remaining: max(L-spent, 0)}, s
}

// ChargeAt takes up to n credits at now, as many as remain, and returns how many.
func (r *Rolling) ChargeAt(now time.Time, n int64) int64 {
	return r.TakeAt(now, n, 0, true).Took
}

// Test-only hooks (set by tests, nil otherwise; they run only when built
// with -tags creditgate_testhooks, see testHooks): takeHook runs between reading
// the frontier and loading cur, the window in which another caller can move
// the frontier under this one; loadHook between loading cur and past;
// rollHook between adding the old slot's amount to past and swapping cur;
// slotHook, after a successful roll, between checking that the old slot is
// still live and recording its amount in its ring word; sweepHook between
// moving the frontier and sweeping the slots that left.
var takeHook, loadHook, rollHook, slotHook, sweepHook func()

// backoffHook (test-only) runs when a take backs off after a lost swap.
var backoffHook func()

// refundHook (test-only) runs in a refund's step on a ring word between
// its checks of the word and its swap.
var refundHook func()

// drainHook (test-only) runs when a jump's helper is about to empty a
// ring lane holding amount credits: between its check of the head and its
// swap.
var drainHook func(amount int64)

// dropHook (test-only) runs in a jump's helper between draining a ring
// and dropping it; unmarkHook before the helper unmarks the head.
var dropHook, unmarkHook func()

// ringHook (test-only) runs between allocating a ring (or its wide words)
// and publishing it.
var ringHook func()

// wordHook (test-only) runs in record between loading the ring word and
// loading the frontier, the order the ring's size-1 words rely on.
var wordHook func()

// queryHook (test-only) runs in spent before it loads cur: in a query,
// between bringing the frontier up (sync) and reading the window under it.
var queryHook func()

// lostSwap is fast's spent when it lost its swap (see fast).
const lostSwap = -1

// backoff is spin.Backoff, after a lost swap on cur, with its test hook.
func backoff() {
	if testHooks && backoffHook != nil {
		backoffHook()
	}
	spin.Backoff()
}

// take charges n credits (or, if partial, as many of them as fit), leaving
// keep of the limit untaken, at u and returns the amount taken, the slot
// epoch it was charged to, the instant it counts at (u, the frontier's
// instant for a stale caller, or the start of cur's slot for a caller behind
// it) and what the window holds spent after the step.
func (r *Rolling) take(u uint64, n, keep int64, partial bool) (took int64, slot, at uint64, spent int64) {
	for {
		e := r.head.Load()
		if e&busy != 0 {
			r.help(e)
			continue
		}
		base := e*r.g.width + r.length() // the instant frontier e became current
		var x uint64                     // offset of the effective now past base
		if u >= base {
			x = u - base
			if x >= r.g.width {
				r.advance(e, u)
				continue
			}
		} // else: stale caller, counted as at base.
		s := e + r.g.quo
		if x+r.g.rem >= r.g.width {
			s++
		}
		if testHooks && takeHook != nil {
			takeHook()
		}
		c := r.cur.Load()
		if testHooks && loadHook != nil {
			loadHook()
		}
		p := r.past.Load()
		if r.head.Load() != e {
			continue // past may lack slots this caller's frontier still counts
		}
		L := under(r.limit.Load(), keep)
		eff := base + x
		// d: how far cur's slot is ahead of s. Live slots end at e+size-1, so
		// anything further ahead is really behind (or long expired).
		if d := (c>>amountBits - s) & tagMask; d != 0 {
			if d > e+r.size()-1-s {
				k, done, spent := r.roll(e, s, c, p, L, n, partial)
				if done {
					return k, s, eff, spent
				}
				continue
			}
			s += d
			eff = s * r.g.width
		}
		a := int64(c & amountMask)
		k := fit(p+a, n, L, partial)
		if k == 0 {
			return 0, s, eff, p + a
		}
		if r.cur.CompareAndSwap(c, c+uint64(k)) {
			return k, s, eff, p + a + k
		}
		backoff()
	}
}

// roll makes s, newer than cur's slot, the current slot and charges it, given
// cur c and past p loaded under frontier e (see Rolling). It returns what it
// took, whether it is done (false: cur changed, retry) and what is spent after.
func (r *Rolling) roll(e, s, c uint64, p, L, n int64, partial bool) (int64, bool, int64) {
	back := (s - c>>amountBits) & tagMask // cur's slot is s-back
	var a int64                           // what moves from cur to past
	if back <= s-e {
		a = int64(c & amountMask)
	} // else cur's slot has left the window: its credits are due back.
	k := fit(p+a, n, L, partial)
	if k == 0 {
		return 0, true, p + a
	}
	if a != 0 {
		r.past.Add(a)
		if testHooks && rollHook != nil {
			rollHook()
		}
	}
	if !r.cur.CompareAndSwap(c, (s&tagMask)<<amountBits|uint64(k)) {
		if a != 0 {
			r.past.Add(-a)
		}
		return 0, false, 0
	}
	if a != 0 {
		r.record(s-back, a)
	}
	return k, true, p + a + k
}
