package memory

import (
	"fmt"
	"iter"
	"slices"
	"time"

	"github.com/creditgate/creditgate/store"
	"github.com/creditgate/creditgate/window"
)

// SetPlan implements store.Store: the pool's limit and the slots' capacities
// change in place, so spent credits and held slots carry over. Other window
// changes (a new length, a calendar, other extra windows) cannot be made in
// place: the tenant gets new windows, each charged with what the old ones
// had spent, when it was spent (see carry). Admissions that race with the
// replacement are counted (see takeAgain).
func (s *Store) SetPlan(now time.Time, key string, p *store.Plan) error {
	s.plans.Add(1) // before the lookup: see create
	t := s.lookup(key)
	if t == nil {
		return nil
	}
	return s.setPlan(now, t, p)
}

func (s *Store) setPlan(now time.Time, t *tenant, p *store.Plan) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.dead() { // folded since the lookup: it comes back with plans' plan, and its bytes are no longer counted
		return nil
	}
	w := t.wins.Load()
	if sameShape(t.plan.Load(), p) {
		if err := w.pool().SetLimit(p.Credits); err != nil {
			return fmt.Errorf("memory: plan %q: %w", p.Name, err)
		}
		w.forgetReset()
	} else {
		nw := new(windows)
		if err := s.initWindows(nw, p, nil); err != nil {
			return err
		}
		w.reset.Store(replacingReset) // before reading what w spent: see takeAgain
		carry(now, w, nw)
		t.wins.Store(nw)
		t.setState(stLone, false) // admissions that still see it use w: as a load of wins just before
	}
	for _, e := range t.appTable().entries {
		t.setCapacity(e, p.Concurrency)
	}
	old := t.classTab()
	next := &classTable{}
	for _, c := range sortedKeys(p.SubConcurrency) {
		e := old.find(c)
		if e == nil {
			e = old.findDropped(c)
		}
		if e != nil {
			t.setCapacity(e, p.SubConcurrency[c])
			e.dead.Store(false) // capped again, if it was dropped
		} else {
			e = newSemEntry(c, p.SubConcurrency[c])
		}
		next.entries = append(next.entries, e)
	}
	// A class the new plan drops is uncapped: its entry leaves the table,
	// and no admission finds it any more (if it is cls0e's, not through
	// cls0e either). The slots its calls in flight hold are released on it,
	// and while any are held the entry stays in the table's dropped list: a
	// later plan that caps the class again takes it back, so that those
	// calls count under the new cap, as what is held carries over (a new
	// entry would admit a full cap beside them). An admission that found
	// the entry before it left may take its slot after the check: it is
	// marked dead (cls0e: stCls0 cleared) before held is read, and Take
	// checks the mark after its slot's take, as for an application (either
	// the admission sees the mark and starts over, or held sees its slot
	// and the entry is kept).
	for _, e := range slices.Concat(old.entries, old.dropped) {
		if next.find(*e.name) != nil {
			continue
		}
		e.dead.Store(true)
		if e == &t.cls0e {
			t.setState(stCls0, false)
		}
		if t.held(e) > 0 {
			next.dropped = append(next.dropped, e)
		}
	}
	t.storeClasses(next)
	if t.cls0e.name != nil && next.find(*t.cls0e.name) == &t.cls0e {
		t.setState(stCls0, true)
	}
	t.storePlan(p)
	s.recost(t)
	return nil
}

// sameShape reports whether b's windows are a's but for the pool's credits,
// which SetLimit changes in place.
func sameShape(a, b *store.Plan) bool {
	if a.WindowLength() != b.WindowLength() || !sameCalendar(a.Calendar, b.Calendar) || len(a.Extra) != len(b.Extra) {
		return false
	}
	for i, x := range a.Extra {
		y := b.Extra[i]
		if x.Credits != y.Credits || x.Window != y.Window || !sameCalendar(x.Calendar, y.Calendar) {
			return false
		}
	}
	return true
}

func sameCalendar(a, b *store.Calendar) bool {
	if a == nil || b == nil {
		return a == b
	}
	return a.Reset == b.Reset && a.Location.String() == b.Location.String()
}

// schedule is a window's spending as a schedule of returns (see
// window.Rolling.Returns) and its length.
func schedule(w window.Window, now time.Time) (iter.Seq2[time.Time, int64], time.Duration, bool) {
	switch x := w.(type) {
	case *window.Rolling:
		return x.Returns(now), x.Length(), true
	case *window.Fixed:
		return x.Returns(now), x.Period(), false
	}
	return func(func(time.Time, int64) bool) {}, 0, false
}

// source is a window's spending as a schedule of returns (see
// window.Rolling.Returns), its length, and whether it rolls.
type source struct {
	returns iter.Seq2[time.Time, int64]
	length  time.Duration
	rolls   bool
}

// sourcesOf is what each of w's windows has spent at now, as sources.
func sourcesOf(now time.Time, w *windows) []source {
	var srcs []source
	for _, o := range w.list() {
		returns, length, rolls := schedule(o, now)
		srcs = append(srcs, source{returns, length, rolls})
	}
	return srcs
}

// carry charges each of the new windows nw with what the old windows w
// spent (see carryFrom).
func carry(now time.Time, w, nw *windows) { carryFrom(now, sourcesOf(now, w), nw) }

// carryFrom charges each of the new windows nw with a source's spending. A
// rolling window takes each spend at the end of the slot it was spent in,
// so that it comes back when it would have (to a slot's width), also in a
// window of another length; a calendar window takes at now what is still
// out. A new window takes the spends of the shortest source at least as
// long (which saw all the history it needs), else of the longest, of its
// own kind if there are two of that length (see pick). Spends
// above the new limit stay spent, as SetLimit keeps them: the window is
// charged under the largest limit, then set to its own. nw is not yet
// published: nothing else takes from it.
func carryFrom(now time.Time, srcs []source, nw *windows) {
	if len(srcs) == 0 {
		return
	}
	for _, dst := range nw.list() {
		_, L, rolls := schedule(dst, now)
		carryInto(now, pick(srcs, L, rolls), dst)
	}
}

// pick is the source a new window of length L (rolling if rolls) takes
// its spends from: the shortest at least as long, else the longest; among
// sources of that length, the first of the window's kind, else the first.
// A calendar window taking a rolling window's spends of its length keeps
// the spends of the previous period spent; a rolling one taking a
// calendar's misses those of the previous period.
func pick(srcs []source, L time.Duration, rolls bool) source {
	src := srcs[0]
	for _, o := range srcs[1:] {
		switch ol := o.length; {
		case ol >= L && (src.length < L || ol < src.length),
			ol < L && src.length < L && ol > src.length,
			ol == src.length && o.rolls == rolls && src.rolls != rolls:
			src = o
		}
	}
	return src
}

// carryInto charges dst, not yet published, with src's spends (see
// carryFrom).
func carryInto(now time.Time, src source, dst window.Window) {
	_, _, dstRolls := schedule(dst, now)
	limit := dst.Limit()
	_ = dst.SetLimit(window.MaxLimit)
	// now as the windows read it (window.UnixNano): past 2262 credits still
	// out are due at the last instant a Unix ns holds, before now itself.
	read := windowsNow(now)
	for back, n := range src.returns {
		at := now
		if spent := back.Add(-src.length - 1); dstRolls && src.rolls && spent.Before(now) {
			at = spent // else the current slot, or a calendar's current period
		}
		if back.After(read) {
			dst.ChargeAt(at, n)
		}
	}
	_ = dst.SetLimit(limit)
}
