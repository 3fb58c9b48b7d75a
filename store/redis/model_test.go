package redis

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/creditgate/creditgate/store"
)

// model is the store's contract for one rolling window, slot by slot: the
// simplest code that says what the script must do. Credits spent at u
// (us) count in slot floor(u/w) and come back at (k+1)w + W.
type model struct {
	L, W, w  int64 // credits, window and slot width (us)
	conc     int64
	bulk     int64
	slots    map[int64]int64
	apps     map[string]int64
	classes  map[string]int64
	frontier int64
}

type modelLease struct {
	app, class string
	at         int64
	l          Lease
}

func (m *model) now(u int64) int64 {
	m.frontier = max(m.frontier, u)
	for k := range m.slots {
		if (k+1)*m.w+m.W <= m.frontier {
			delete(m.slots, k)
		}
	}
	return m.frontier
}

func (m *model) spent() (n int64) {
	for _, a := range m.slots {
		n += a
	}
	return n
}

// fill is the decision's pool figures at u; retry for need credits (0: none).
func (m *model) fill(u, need int64, d *store.Decision) {
	d.Used, d.Remaining, d.Reset = m.spent(), max(m.L-m.spent(), 0), time.UnixMicro(u)
	first := int64(-1)
	for k, a := range m.slots {
		if a > 0 && (first < 0 || k < first) {
			first = k
		}
	}
	if first >= 0 {
		d.Reset = time.UnixMicro((first+1)*m.w + m.W)
	}
	if need <= 0 {
		return
	}
	if need > m.L {
		d.RetryAfter = time.Duration(m.W) * time.Microsecond
		return
	}
	free, at := m.L-m.spent(), u
	for k := first; free < need && k >= 0; k++ {
		if a := m.slots[k]; a > 0 {
			free += a
			at = (k+1)*m.w + m.W
		}
	}
	d.RetryAfter = time.Duration(at-u) * time.Microsecond
}

func (m *model) take(u int64, app, class string, n, keep int64) (store.Decision, bool) {
	u = m.now(u)
	d := store.Decision{Cost: n}
	switch {
	case m.apps[app] >= m.conc:
		d.Reason, d.RetryAfter = store.ReasonConcurrency, store.ConcurrencyRetryAfter
	case class == "bulk" && m.classes[class] >= m.bulk:
		d.Reason, d.RetryAfter = store.ReasonSubConcurrency, store.ConcurrencyRetryAfter
	case n > m.L-keep-m.spent():
		d.Reason = store.ReasonCredits
		m.fill(u, n+keep, &d)
		return d, false
	default:
		d.Allowed = true
		if n > 0 {
			m.slots[u/m.w] += n
		}
		m.apps[app]++
		if class == "bulk" {
			m.classes[class]++
		}
	}
	m.fill(u, 0, &d)
	return d, d.Allowed
}

func (m *model) settle(u int64, l *modelLease, delta int64, exact bool) store.Decision {
	u = m.now(u)
	d := store.Decision{Allowed: true, Cost: delta}
	k := l.at / m.w
	switch {
	case delta < 0:
		back := min(m.slots[k], -delta)
		if m.slots[k] -= back; m.slots[k] == 0 {
			delete(m.slots, k)
		}
		d.Cost = -back
	case exact && delta > m.L-m.spent():
		d.Allowed, d.Reason = false, store.ReasonCredits
		m.fill(u, delta, &d)
		return d
	default:
		d.Cost = min(delta, max(m.L-m.spent(), 0))
		if d.Cost > 0 {
			m.slots[u/m.w] += d.Cost
		}
	}
	m.fill(u, 0, &d)
	return d
}

func (m *model) release(s *Store, l *modelLease) {
	s.Release(&l.l)
	m.apps[l.app]--
	if l.class == "bulk" {
		m.classes["bulk"]--
	}
}

// peek reads a copy expired at u: Peek moves no frontier.
func (m *model) peek(u, n int64) store.Decision {
	v := *m
	v.slots = map[int64]int64{}
	for k, a := range m.slots {
		v.slots[k] = a
	}
	want := store.Decision{Allowed: true}
	u = v.now(u)
	v.fill(u, n, &want)
	if n <= want.Remaining {
		want.RetryAfter = 0
	}
	return want
}

// The script against the model on random steps, times going back and
// forth: every figure of every decision equal.
func TestModel(t *testing.T) {
	s := newStore(t, client(t, shared.addr()), WithClientTime(), WithSlots(10))
	p := store.Plan{Credits: 100, Window: 10 * time.Minute, Concurrency: 2, SubConcurrency: map[string]int64{"bulk": 1}}
	pf := func(string) *store.Plan { return &p }
	m := &model{L: 100, W: (10 * time.Minute).Microseconds(), w: time.Minute.Microseconds(), conc: 2, bulk: 1,
		slots: map[int64]int64{}, apps: map[string]int64{}, classes: map[string]int64{}}
	rng := rand.New(rand.NewPCG(1, 2))
	at := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	var held []*modelLease
	check := func(i int, op string, got, want store.Decision) {
		t.Helper()
		want.Limit, want.Window = p.Credits, p.Window
		if got.Allowed != want.Allowed || got.Reason != want.Reason || got.Cost != want.Cost || got.Used != want.Used ||
			got.Remaining != want.Remaining || !got.Reset.Equal(want.Reset) || got.RetryAfter != want.RetryAfter {
			t.Fatalf("step %d %s at %v:\n got %+v\nwant %+v", i, op, at, got, want)
		}
	}
	for i := range 1500 {
		at = at.Add(time.Duration(rng.IntN(100)-20) * time.Second)
		u := at.UnixMicro()
		switch op := rng.IntN(10); {
		case op < 4:
			app, class := []string{"a", "b"}[rng.IntN(2)], []string{"", "bulk"}[rng.IntN(2)]
			n, keep := rng.Int64N(30), rng.Int64N(3)*10
			ml := &modelLease{app: app, class: class}
			want, ok := m.take(u, app, class, n, keep)
			ml.at = m.frontier
			var got store.Decision
			s.Take(at, &store.Request{Tenant: "m", App: app, Class: class, Credits: n, Keep: keep}, pf, &ml.l, &got)
			check(i, "take", got, want)
			if ok {
				held = append(held, ml)
			}
		case op < 6 && len(held) > 0:
			j := rng.IntN(len(held))
			m.release(s, held[j])
			held = append(held[:j], held[j+1:]...)
		case op < 8 && len(held) > 0:
			l := held[rng.IntN(len(held))]
			delta, exact := rng.Int64N(21)-10, rng.IntN(2) == 0
			if delta == 0 {
				continue
			}
			want := m.settle(u, l, delta, exact)
			check(i, "settle", s.Settle(at, &l.l, delta, exact), want)
		default:
			n := rng.Int64N(120)
			want := m.peek(u, n)
			check(i, "peek", s.Peek(at, "m", n, pf), want)
		}
	}
}
