package window

import (
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

// refLog is the reference: an exact sliding log of admissions (each credit
// comes back exactly W after it was counted), plus the one fact
// about Rolling it needs to predict it exactly: the frontier, which follows
// the newest instant any call has passed in, and the current slot (the newest
// one charged), at whose start a caller behind it is counted.
type refLog struct {
	length   int64 // W in ns
	width    int64 // slot width in ns
	limit    int64
	maxNow   int64
	curStart int64 // start of the newest slot any admission was counted in
	entries  []entry
}

type entry struct {
	at, n int64 // effective instant (Unix ns) and credits still counted
}

func newRefLog(r *Rolling) *refLog {
	return &refLog{length: int64(r.Length()), width: int64(r.SlotWidth()), limit: r.Limit(), maxNow: -1 << 62, curStart: -1 << 62}
}

// see records that a call passed now; it returns the frontier epoch and the
// effective instant of an admission at now.
func (m *refLog) see(now int64) (frontier, eff int64) {
	m.maxNow = max(m.maxNow, now)
	frontier = (m.maxNow - m.length) / m.width
	return frontier, max(now, frontier*m.width+m.length, m.curStart)
}

// admit logs an admission of n counted at eff.
func (m *refLog) admit(eff, n int64) {
	m.entries = append(m.entries, entry{eff, n})
	m.curStart = max(m.curStart, eff/m.width*m.width)
}

// held sums the credits whose slot is at or past the frontier (what Rolling
// counts) and those counted at an instant after eff-W (what an exact log
// counts). withheldOld reports a credit Rolling still counts although it is
// older than one slot's width past W: a break of the under-admission bound.
func (m *refLog) held(frontier, eff int64) (rolling, exact int64, withheldOld bool) {
	for _, e := range m.entries {
		counted := e.at/m.width >= frontier
		if counted {
			rolling += e.n
		}
		if e.at > eff-m.length {
			exact += e.n
		}
		if counted && e.n > 0 && e.at <= eff-m.length-m.width {
			withheldOld = true
		}
	}
	return rolling, exact, withheldOld
}

// refund takes up to n from the entries of spent's slot, oldest first (so the
// credits left are the latest ones, the strictest case for the replay).
func (m *refLog) refund(frontier, spent, n int64) int64 {
	k := spent / m.width
	if k < frontier {
		return 0
	}
	var got int64
	for i := range m.entries {
		e := &m.entries[i]
		if e.at/m.width == k && got < n {
			d := min(e.n, n-got)
			e.n -= d
			got += d
		}
	}
	return got
}

// replay checks the hard invariant on a log: no interval of length W holds
// more than limit credits.
func replay(t testing.TB, entries []entry, length, limit int64) {
	t.Helper()
	es := slices.Clone(entries)
	slices.SortFunc(es, func(a, b entry) int { return int(min(max(a.at-b.at, -1), 1)) })
	var sum int64
	lo := 0
	for hi, e := range es {
		sum += e.n
		for es[lo].at <= e.at-length {
			sum -= es[lo].n
			lo++
		}
		if sum > limit {
			t.Fatalf("over-admission: %d credits in the %v ending at entry %d (%d ns), limit %d",
				sum, time.Duration(length), hi, e.at, limit)
		}
	}
}

// op is one step of a random sequence: a time step and an action.
type op struct {
	step   time.Duration
	action uint8 // 0,1,2 acquire; 3 refund; 4 charge; 5 remaining; 6 SetLimit(n); 7 TakeAt(n, keep, partial)
	n      int64
	back   time.Duration // refund: how long before now the credits were spent
	keep   int64         // TakeAt's keep
	part   bool          // TakeAt's partial
}

// runOps drives r and the reference with ops and checks, at every step, that
// Rolling decides exactly as predicted, never holds less than the exact log,
// and withholds at most the credits of one slot's width.
func runOps(t testing.TB, r *Rolling, ops []op) {
	t.Helper()
	m := newRefLog(r)
	maxLimit := m.limit // the replay bound: the largest limit set (each admission fits the limit of its time)
	now := start
	for i, o := range ops {
		now = now.Add(o.step)
		u := UnixNano(now) // the window's reading of now: past 2262 (ops of up to ten years), not wrapped
		switch o.action {
		case 0, 1, 2, 4:
			if o.n > m.limit && o.action != 4 {
				ok, err := r.TryAcquireAt(now, o.n)
				if ok || err != ErrExceedsLimit {
					t.Fatalf("op %d: TryAcquireAt(%d) = %v, %v; want ErrExceedsLimit", i, o.n, ok, err)
				}
				break
			}
			frontier, eff := m.see(u)
			rolling, exact, withheldOld := m.held(frontier, eff)
			if rolling < exact {
				t.Fatalf("op %d: Rolling counts %d, fewer than the exact log's %d", i, rolling, exact)
			}
			if withheldOld {
				t.Fatalf("op %d: Rolling withholds a credit older than W plus one slot", i)
			}
			if o.action == 4 {
				want := min(o.n, max(m.limit-rolling, 0))
				if got := r.ChargeAt(now, o.n); got != want {
					t.Fatalf("op %d: ChargeAt(%d) = %d, want %d", i, o.n, got, want)
				}
				if want > 0 {
					m.admit(eff, want)
				}
				break
			}
			var ok bool
			var err error
			if o.action == 2 { // the same through TryTakeAt, whose remainder must be exact too
				var rem int64
				ok, rem = r.TryTakeAt(now, o.n)
				after := rolling
				if ok {
					after += o.n
				}
				if wantRem := max(m.limit-after, 0); rem != wantRem {
					t.Fatalf("op %d: TryTakeAt(+%v, %d) reports %d remaining, want %d", i, now.Sub(start), o.n, rem, wantRem)
				}
			} else {
				ok, err = r.TryAcquireAt(now, o.n)
			}
			want := rolling+o.n <= m.limit
			if err != nil || ok != want {
				t.Fatalf("op %d: TryAcquireAt(+%v, %d) = %v, %v; want %v (Rolling holds %d, exact log %d)",
					i, now.Sub(start), o.n, ok, err, want, rolling, exact)
			}
			if ok {
				m.admit(eff, o.n)
			}
		case 3:
			frontier, _ := m.see(u)
			spent := now.Add(-o.back)
			before := r.TakeAt(now, 0, 0, false).Spent // not RemainingAt: it reads 0 under a lowered limit
			want := m.refund(frontier, UnixNano(spent), o.n)
			back := r.RefundAt(now, spent, o.n)
			if got := before - r.TakeAt(now, 0, 0, false).Spent; got != want || back != want {
				t.Fatalf("op %d: refund of %d gave back %d (reports %d), want %d", i, o.n, got, back, want)
			}
		case 5:
			frontier, eff := m.see(u)
			rolling, _, _ := m.held(frontier, eff)
			if got, want := r.RemainingAt(now), max(m.limit-rolling, 0); got != want {
				t.Fatalf("op %d: RemainingAt = %d, want %d", i, got, want)
			}
			// Returns lists what is spent, in order, each after now;
			// ResetAt is the first of them (now if none). Past 2262 the
			// window reads now as 2262 (see unixNano): not checked.
			if now.Unix() >= unixSecs-int64(2*MaxLength/time.Second) {
				break
			}
			var sum int64
			var prev time.Time
			first := now
			for at, n := range r.Returns(now) {
				if n <= 0 || !at.After(now) || (!prev.IsZero() && !at.After(prev)) {
					t.Fatalf("op %d: Returns gives %d at +%v (now +%v, previous +%v)", i, n, at.Sub(start), now.Sub(start), prev.Sub(start))
				}
				if prev.IsZero() {
					first = at
				}
				prev = at
				sum += n
			}
			if sum != rolling {
				t.Fatalf("op %d: Returns sums to %d, the window counts %d", i, sum, rolling)
			}
			if got := r.ResetAt(now); !got.Equal(first) {
				t.Fatalf("op %d: ResetAt = +%v, Returns' first +%v", i, got.Sub(start), first.Sub(start))
			}
		case 6:
			if err := r.SetLimit(o.n); err != nil {
				t.Fatalf("op %d: SetLimit(%d): %v", i, o.n, err)
			}
			m.limit = o.n
			maxLimit = max(maxLimit, o.n)
		case 7:
			frontier, eff := m.see(u)
			rolling, _, _ := m.held(frontier, eff)
			want := fitRef(rolling, o.n, max(m.limit-max(o.keep, 0), 0), o.part)
			got := r.TakeAt(now, o.n, o.keep, o.part)
			wantTake := Take{Took: want, Spent: rolling + want, Remaining: max(m.limit-rolling-want, 0)}
			if got != wantTake {
				t.Fatalf("op %d: TakeAt(+%v, %d, keep %d, partial %v) = %+v, want %+v (limit %d)", i, now.Sub(start), o.n, o.keep, o.part, got, wantTake, m.limit)
			}
			if want > 0 {
				m.admit(eff, want)
			}
		}
	}
	replay(t, m.entries, m.length, maxLimit)
}

// fitRef is what a take of n may charge beside spent under room (the limit
// less keep), computed in big steps that cannot overflow.
func fitRef(spent, n, room int64, partial bool) int64 {
	if n <= 0 {
		return 0
	}
	free := max(room-spent, 0)
	if n <= free {
		return n
	}
	if partial {
		return free
	}
	return 0
}

// randomOps makes a sequence with small and large steps forward, steps back,
// and day-long jumps, against a window of length W.
func randomOps(rng *rand.Rand, count int, W time.Duration, limit int64) []op {
	ops := make([]op, count)
	for i := range ops {
		o := &ops[i]
		switch p := rng.IntN(100); {
		case p < 40:
			o.step = time.Duration(rng.Int64N(max(int64(W/20), 1)))
		case p < 70:
			o.step = time.Duration(rng.Int64N(int64(W)))
		case p < 85:
			o.step = -time.Duration(rng.Int64N(max(int64(W/4), 1))) // backwards
		case p < 88:
			o.step = time.Duration(rng.Int64N(5)) * 24 * time.Hour // a day-long jump
		case p < 90:
			o.step = -time.Duration(rng.Int64N(3)) * W
		}
		o.action = uint8(rng.IntN(6))
		o.n = 1 + rng.Int64N(limit)
		if rng.IntN(20) == 0 {
			o.n = limit + 1
		}
		o.back = time.Duration(rng.Int64N(int64(2 * W)))
	}
	return ops
}

func TestRollingAgainstReference(t *testing.T) {
	configs := []struct {
		limit  int64
		length time.Duration
		slots  int
	}{
		{10, 10 * time.Second, 10},
		{10, 10 * time.Second, 7},
		{1, 10 * time.Second, 1},
		{1000, 24 * time.Hour, DefaultSlots},
		{37, time.Second, 3},
		{5, 100 * time.Millisecond, 96},
	}
	for ci, c := range configs {
		for seed := range 40 {
			rng := rand.New(rand.NewPCG(uint64(ci), uint64(seed)))
			r, err := NewRolling(c.limit, c.length, WithSlots(c.slots))
			if err != nil {
				t.Fatal(err)
			}
			runOps(t, r, randomOps(rng, 300, c.length, c.limit))
		}
	}
}

// randomOpsLimits is randomOps with limit changes, TakeAt with keep and
// partial, refunds dated after now, and (huge) counts near MaxLimit and
// MaxInt64.
func randomOpsLimits(rng *rand.Rand, count int, W time.Duration, limit int64) []op {
	ops := randomOps(rng, count, W, limit)
	lim := limit
	for i := range ops {
		o := &ops[i]
		switch rng.IntN(12) {
		case 0:
			o.action = 6
			switch rng.IntN(4) {
			case 0:
				o.n = MaxLimit
			case 1:
				o.n = 1
			default:
				o.n = 1 + rng.Int64N(min(2*limit, MaxLimit))
			}
			lim = o.n
		case 1, 2:
			o.action = 7
			o.n = rng.Int64N(lim + 2)
			switch rng.IntN(5) {
			case 0:
				o.n = 1<<63 - 1 - rng.Int64N(3)
			case 1:
				o.n = -rng.Int64N(3)
			}
			o.keep = rng.Int64N(lim + 1)
			switch rng.IntN(6) {
			case 0:
				o.keep = 1<<63 - 1
			case 1:
				o.keep = -1 << 63
			case 2:
				o.keep = 0
			}
			o.part = rng.IntN(2) == 0
		case 3:
			o.back = -o.back / 4 // spent after now (a clock behind the spender's)
		}
		if o.action < 6 && o.action != 3 && o.n > lim+1 {
			o.n = 1 + rng.Int64N(lim+1)
		}
	}
	return ops
}

// TestRollingAgainstReferenceLimits: the reference test with limits raised
// and lowered midway (to 1 and to MaxLimit), TakeAt with keep and partial
// at huge and negative values, and longer sequences.
func TestRollingAgainstReferenceLimits(t *testing.T) {
	configs := []struct {
		limit  int64
		length time.Duration
		slots  int
	}{
		{10, 10 * time.Second, 10},
		{3, 10 * time.Second, 7},
		{1, 10 * time.Second, 1},
		{MaxLimit, 24 * time.Hour, DefaultSlots},
		{MaxLimit - 1, time.Second, 3},
		{5, 100 * time.Millisecond, 96},
		{7, MaxLength, 5},
		{7, MaxLength, 1000},
		{3, time.Nanosecond, 1},
		{3, 7 * time.Nanosecond, 3},
		{5, 100 * time.Nanosecond, 96},
		{2, 5 * time.Nanosecond, 16},
	}
	for ci, c := range configs {
		for seed := range 20 {
			rng := rand.New(rand.NewPCG(uint64(ci)+100, uint64(seed)))
			r, err := NewRolling(c.limit, c.length, WithSlots(c.slots))
			if err != nil {
				t.Fatal(err)
			}
			runOps(t, r, randomOpsLimits(rng, 400, c.length, c.limit))
		}
	}
}
