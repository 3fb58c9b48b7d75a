package usage

import (
	"cmp"
	"context"
	"hash/maphash"
	"math"
	"slices"
	"strings"
	"sync"
	"time"
)

// Dimension is one axis of the usage statistics.
type Dimension uint8

// Dimensions of Stats.Top.
const (
	App Dimension = iota
	Module
	IP
	User
	Method
	numDims
)

// Other collects what the cardinality caps fold away.
const Other = "other"

// noHour is before every hour, and noHour-keep does not overflow.
const noHour = math.MinInt64 / 2

// Defaults.
const (
	DefaultRetention = 30 * 24 * time.Hour
	DefaultTenants   = 1000
	numShards        = 32 // few enough to flush, enough that cores seldom share one
	batchSize        = 64
	queueLen         = 16 // full batches waiting: at most queueLen*batchSize events
)

// Count is one row of Top. Calls counts admitted calls, Refused refused ones,
// Credits the credits of admitted calls (after settling).
type Count struct {
	Key                     string
	Credits, Calls, Refused int64
}

// Point is one hour of Series.
type Point struct {
	Hour                    time.Time
	Credits, Calls, Refused int64
}

// Stats keeps credits, calls and refusals per tenant by application, module,
// IP, user and method, in hour buckets, for a retention period, like Zoho's
// API dashboard. Memory is bounded: each dimension keeps at most
// maxPerDimension keys per tenant and hour, and the tail (the keys with the
// fewest credits so far when a new key competes for a place) folds into
// Other, so a heavy key keeps its row even if it arrives late;
// at most DefaultTenants tenants are kept, the rest fold into tenant
// Other; hours older than the retention, counted back from the latest
// hour that two records have reached (see apply), are dropped.
//
// Record only appends to one of a few sharded buffers. Full buffers queue for
// aggregation, which a goroutine of the Stats runs (until Close); queries
// aggregate whatever is pending first, so a query sees every event recorded
// before it, and if the queue is full the recorder aggregates itself rather
// than let memory grow. Safe for concurrent use.
type Stats struct {
	keep      int64 // hours retained: the retention rounded up
	maxPerDim int
	seed      maphash.Seed
	shards    [numShards]shard

	// full holds batches waiting for aggregation. A shard hands a batch
	// over under its lock, and every receiver takes batches under mu and
	// aggregates them before letting go of it: so a batch is always in its
	// shard, on full or aggregated, never in between where a query could
	// miss it, and each shard's batches are aggregated in the order pushed
	// (a settled difference after its call).
	full chan []event
	free chan []event  // empty batches to reuse
	kick chan struct{} // wakes a drainer (capacity 1): a batch is on full

	mu      sync.Mutex // protects tenants, newest, latest and the aggregation
	tenants map[string]*tenantUsage
	// newest is the retention window's last hour: the latest hour that two
	// aggregated events are dated at or after. latest is the latest hour
	// any is dated at. Unix hours; noHour before there are any.
	newest, latest int64

	stop     chan struct{} // closed by Close
	done     chan struct{} // closed when the drainer has exited
	closeOne sync.Once
}

// shard is 128 bytes, so that two shards' words never share a cache
// line whatever the alignment of the Stats (at 72 bytes they did, and two
// cores recording into neighbouring shards fought over the line).
type shard struct {
	mu  sync.Mutex // protects buf
	buf []event
	_   [96]byte
}

// event is one decision, or a run of decisions with the same keys
// that push merged: calls and refused count them.
type event struct {
	hour                                int64
	tenant, app, module, ip, user, meth string
	credits, calls, refused             int64
	adjust                              bool
}

type tenantUsage struct {
	hours map[int64]*hourUsage
}

type hourUsage struct {
	total Count
	dims  [numDims]map[string]*Count
	// last is each dimension's most recently applied count: traffic repeats
	// its applications, methods and modules, so most applies skip the map.
	last [numDims]*Count
}

// New returns statistics keeping retention (DefaultRetention when <= 0)
// of hour buckets with at most maxPerDimension keys per dimension (100 when <= 0).
// Statistics are kept by the hour, so retention rounds up to whole hours:
// anything up to an hour keeps the newest hour.
func New(retention time.Duration, maxPerDimension int) *Stats {
	if retention <= 0 {
		retention = DefaultRetention
	}
	keep := int64(retention / time.Hour)
	if retention%time.Hour != 0 {
		keep++ // rounded down, under an hour kept nothing
	}
	if maxPerDimension <= 0 {
		maxPerDimension = 100
	}
	u := &Stats{keep: keep, maxPerDim: maxPerDimension, seed: maphash.MakeSeed(), newest: noHour, latest: noHour,
		tenants: map[string]*tenantUsage{}, full: make(chan []event, queueLen),
		free: make(chan []event, queueLen), kick: make(chan struct{}, 1),
		stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(u.done)
		u.drain(u.stop)
	}()
	return u // shard buffers are allocated by their first push
}

// Close stops the goroutine that aggregates recorded events and waits for it
// or for ctx. Recording and queries still work afterwards (queries then do
// the aggregation). Close is idempotent.
func (u *Stats) Close(ctx context.Context) error {
	u.closeOne.Do(func() { close(u.stop) })
	select {
	case <-u.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Event is one decision to count: an admitted call that spent Credits, or a
// refusal.
type Event struct {
	At                                    time.Time
	Tenant, App, Module, IP, User, Method string
	Credits                               int64
	Refused                               bool
}

// Record counts one decision.
func (u *Stats) Record(e Event) { u.RecordIn(maphash.String(u.seed, e.Tenant), &e) }

// Settle counts a settled difference of an admitted call's credits (its
// real cost less what it reserved), by application only.
func (u *Stats) Settle(at time.Time, tenant, app string, delta int64) {
	u.SettleIn(maphash.String(u.seed, tenant), at, tenant, app, delta)
}

// RecordIn is Record into the buffer that buf (any well-mixed value) picks,
// for a caller that spreads one tenant's events over buffers so that cores
// do not queue on one: events recorded with the same buf are aggregated in
// the order recorded, so a call's settled difference should use its call's.
func (u *Stats) RecordIn(buf uint64, e *Event) {
	x := event{hour: hourOf(e.At), tenant: e.Tenant, app: e.App, module: e.Module, ip: e.IP, user: e.User, meth: e.Method}
	if e.Refused {
		x.refused = 1
	} else {
		x.calls, x.credits = 1, e.Credits
	}
	u.push(buf, &x)
}

// SettleIn is Settle into the buffer buf picks (see RecordIn).
func (u *Stats) SettleIn(buf uint64, at time.Time, tenant, app string, delta int64) {
	u.push(buf, &event{hour: hourOf(at), tenant: tenant, app: app, credits: delta, adjust: true})
}

func hourOf(t time.Time) int64 { return hourOfNs(t.UnixNano()) }

// hourOfNs is the Unix hour of ns (Unix nanoseconds), rounded down.
func hourOfNs(ns int64) int64 {
	h := ns / int64(time.Hour)
	if ns < 0 && ns%int64(time.Hour) != 0 {
		h--
	}
	return h
}

// push appends e to a shard's buffer, or adds it to the buffer's last event
// when that has the same keys: a client's burst then costs the aggregator
// one event, and the buffer fills (and hands a batch over) only when keys
// change. The strings are compared by ==, which is a pointer check when, as
// usual, a caller passes the same strings again.
func (u *Stats) push(h uint64, e *event) {
	sh := &u.shards[(h>>32)%numShards]
	sh.mu.Lock()
	if n := len(sh.buf); n > 0 {
		if last := &sh.buf[n-1]; sameKeys(last, e) {
			last.credits, last.calls, last.refused = last.credits+e.credits, last.calls+e.calls, last.refused+e.refused
			sh.mu.Unlock()
			return
		}
	}
	if sh.buf == nil {
		sh.buf = u.newBatch()
	}
	sh.buf = append(sh.buf, *e)
	if len(sh.buf) < batchSize {
		sh.mu.Unlock()
		return
	}
	// The full buffer leaves the shard under its lock (see Stats.full).
	select {
	case u.full <- sh.buf: // for the drainer (or the next query)
		sh.buf = u.newBatch()
		sh.mu.Unlock()
		select {
		case u.kick <- struct{}{}:
		default: // a wake-up is pending already, and comes after the send above
		}
	default:
		// Queue full: aggregate here rather than grow, after the queued
		// batches and holding the shard, whose later events come after.
		u.mu.Lock()
		u.drainQueue()
		u.aggregate(sh.buf)
		u.mu.Unlock()
		clear(sh.buf) // drop the strings
		sh.buf = sh.buf[:0]
		sh.mu.Unlock()
	}
}

// newBatch returns an empty batch, recycled if one is free.
func (u *Stats) newBatch() []event {
	select {
	case b := <-u.free:
		return b
	default:
		return make([]event, 0, batchSize)
	}
}

func (u *Stats) recycle(b []event) {
	clear(b) // drop the strings
	select {
	case u.free <- b[:0]:
	default:
	}
}

// drain aggregates full batches until stop closes, on the Stats' own
// goroutine, so that recording costs the hot path an append only. It
// waits on kick rather than on full: taking a batch before mu would let a
// query aggregate that shard's later events first.
func (u *Stats) drain(stop <-chan struct{}) {
	for {
		select {
		case <-u.kick:
			u.mu.Lock()
			u.drainQueue()
			u.mu.Unlock()
		case <-stop:
			return
		}
	}
}

// drainQueue aggregates the batches on full, at least all those queued when
// it was called (at most queueLen: it does not chase a busy recorder).
// Called with u.mu held.
func (u *Stats) drainQueue() {
	for range queueLen {
		select {
		case b := <-u.full:
			u.aggregate(b)
			u.recycle(b)
		default:
			return
		}
	}
}

// flush aggregates every event pushed before it was called, each shard's
// in order. Called without u.mu: it takes a shard's lock and then mu, as a
// push that finds the queue full does.
func (u *Stats) flush() {
	u.mu.Lock()
	u.drainQueue() // the bulk, before holding up any shard
	u.mu.Unlock()
	for i := range u.shards {
		sh := &u.shards[i]
		sh.mu.Lock()
		u.mu.Lock()
		u.drainQueue() // the batches this shard handed over meanwhile, before its buffer
		u.aggregate(sh.buf)
		u.mu.Unlock()
		clear(sh.buf)
		sh.buf = sh.buf[:0]
		sh.mu.Unlock()
	}
}

// aggregate folds a batch into the statistics. Runs of events with the same
// keys (one client's burst) are summed first and applied once: the map
// lookups per distinct run, not per event, are what aggregation costs.
func (u *Stats) aggregate(evs []event) {
	var run *event
	var sum Count
	for i := range evs {
		e := &evs[i]
		if run != nil && sameKeys(run, e) {
			sum.add(e)
			continue
		}
		if run != nil {
			u.apply(run, sum)
		}
		run, sum = e, Count{}
		sum.add(e)
	}
	if run != nil {
		u.apply(run, sum)
	}
}

func sameKeys(a, b *event) bool {
	return a.hour == b.hour && a.adjust == b.adjust && a.tenant == b.tenant && a.app == b.app &&
		a.module == b.module && a.ip == b.ip && a.user == b.user && a.meth == b.meth
}

func (c *Count) add(e *event) {
	c.Credits, c.Calls, c.Refused = c.Credits+e.credits, c.Calls+e.calls, c.Refused+e.refused
}

func (c *Count) plus(d Count) {
	c.Credits, c.Calls, c.Refused = c.Credits+d.Credits, c.Calls+d.Calls, c.Refused+d.Refused
}

// apply adds sum to the buckets of e's keys.
//
// Time is the callers', so one event can be dated far ahead (a clock
// stepped, a wrong now). If the window ended at the latest hour seen, that
// one event would prune every hour retained, and then drop the calls dated
// right as too old. So it ends at the latest hour that two events have
// reached: a lone event ahead prunes nothing and is kept in its hour, and a
// real move of time (a replay after a pause, a clock set right) moves the
// window with its second event. Memory stays bounded: only the latest
// hour, holding one event, can lie past the window. The trade-off: two
// stray events (a burst with the same keys, which push merges, counts
// once) move the window as a real jump would, and normal traffic prunes an
// hour at the second event of the next hour rather than the first.
func (u *Stats) apply(e *event, sum Count) {
	if e.hour > u.newest {
		if e.hour > u.latest {
			u.newest, u.latest = u.latest, e.hour
		} else {
			u.newest = e.hour
		}
		u.prune(u.newest - u.keep)
	}
	if e.hour <= u.newest-u.keep {
		return // older than the retention
	}
	tenant := e.tenant
	tu := u.tenants[tenant]
	if tu == nil {
		if len(u.tenants) >= DefaultTenants {
			tenant = Other
			tu = u.tenants[Other]
		}
		if tu == nil {
			tu = &tenantUsage{hours: map[int64]*hourUsage{}}
			u.tenants[strings.Clone(tenant)] = tu // kept for the retention: tenant strings may be slices of larger buffers
		}
	}
	h := tu.hours[e.hour]
	if h == nil {
		h = &hourUsage{}
		tu.hours[e.hour] = h
	}
	h.total.plus(sum)
	keys := [numDims]string{e.app, e.module, e.ip, e.user, e.meth}
	for d, k := range keys {
		if e.adjust && Dimension(d) != App {
			continue // a settled difference is known by application only
		}
		if c := h.last[d]; c != nil && c.Key == k {
			c.plus(sum)
			continue
		}
		m := h.dims[d]
		if m == nil {
			m = map[string]*Count{}
			h.dims[d] = m
		}
		c := m[k]
		if c == nil {
			c = admit(m, k, sum, u.maxPerDim)
		}
		h.last[d] = c
		c.plus(sum)
	}
}

// admit finds a place in m for key k, new in this hour, which brings sum.
// Below the cap k gets its own count. At the cap the tail folds into
// Other: the smallest count (least credits, then fewest calls, then the
// greatest key, so that ties fold the same way every time) moves into it to
// make room for k, unless k itself brings less than that, in which case k
// is the tail and its count is Other's. So a heavy key that arrives late
// in the hour still gets a row of its own, and totals are kept exactly.
func admit(m map[string]*Count, k string, sum Count, maxKeys int) *Count {
	other := m[Other]
	if len(m)-btoi(other != nil) < maxKeys {
		c := &Count{Key: strings.Clone(k)}
		m[c.Key] = c
		return c
	}
	var tail *Count
	for key, c := range m {
		if key != Other && (tail == nil || smaller(c, tail)) {
			tail = c
		}
	}
	if other == nil {
		other = &Count{Key: Other}
		m[Other] = other
	}
	if tail == nil || !smaller(tail, &sum) {
		return other // k is the tail
	}
	other.plus(*tail)
	delete(m, tail.Key) // h.last may hold tail: the caller replaces it
	c := &Count{Key: strings.Clone(k)}
	m[c.Key] = c
	return c
}

// smaller orders counts for folding: fewer credits, then fewer calls and
// refusals, then (ties) the greater key is the smaller count. sum, a new
// key's first count, has no key and loses every tie.
func smaller(a, b *Count) bool {
	if a.Credits != b.Credits {
		return a.Credits < b.Credits
	}
	if x, y := a.Calls+a.Refused, b.Calls+b.Refused; x != y {
		return x < y
	}
	return b.Key != "" && a.Key > b.Key
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

func (u *Stats) prune(oldest int64) {
	for k, tu := range u.tenants {
		for h := range tu.hours {
			if h <= oldest {
				delete(tu.hours, h)
			}
		}
		if len(tu.hours) == 0 {
			delete(u.tenants, k)
		}
	}
}

// Top returns the n keys of dimension dim with the most credits (then calls,
// then key) for tenant over the hours overlapping [since, until).
func (u *Stats) Top(tenant string, dim Dimension, since, until time.Time, n int) []Count {
	if dim >= numDims || n <= 0 {
		return nil
	}
	u.flush()
	u.mu.Lock()
	sum := map[string]*Count{}
	if tu := u.tenants[tenant]; tu != nil {
		from, to := hourOf(since), hourOf(until.Add(-1))
		for hr, h := range tu.hours {
			if hr < from || hr > to {
				continue
			}
			for k, c := range h.dims[dim] {
				s := sum[k]
				if s == nil {
					s = &Count{Key: k}
					sum[k] = s
				}
				s.Credits, s.Calls, s.Refused = s.Credits+c.Credits, s.Calls+c.Calls, s.Refused+c.Refused
			}
		}
	}
	u.mu.Unlock()
	out := make([]Count, 0, len(sum))
	for _, c := range sum {
		out = append(out, *c)
	}
	slices.SortFunc(out, func(a, b Count) int {
		return cmp.Or(cmp.Compare(b.Credits, a.Credits), cmp.Compare(b.Calls, a.Calls), cmp.Compare(a.Key, b.Key))
	})
	return out[:min(n, len(out))]
}

// Series returns tenant's hour buckets overlapping [since, until) that have
// data, oldest first.
func (u *Stats) Series(tenant string, since, until time.Time) []Point {
	u.flush()
	u.mu.Lock()
	var out []Point
	if tu := u.tenants[tenant]; tu != nil {
		from, to := hourOf(since), hourOf(until.Add(-1))
		for hr, h := range tu.hours {
			if hr >= from && hr <= to {
				out = append(out, Point{Hour: time.Unix(hr*3600, 0).UTC(), Credits: h.total.Credits,
					Calls: h.total.Calls, Refused: h.total.Refused})
			}
		}
	}
	u.mu.Unlock()
	slices.SortFunc(out, func(a, b Point) int { return a.Hour.Compare(b.Hour) })
	return out
}

// Tenants returns the tenants with statistics, sorted.
func (u *Stats) Tenants() []string {
	u.flush()
	u.mu.Lock()
	out := make([]string, 0, len(u.tenants))
	for k := range u.tenants {
		out = append(out, k)
	}
	u.mu.Unlock()
	slices.Sort(out)
	return out
}
