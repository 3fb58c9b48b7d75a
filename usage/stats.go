package usage

import (
	"context"
	"math"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/creditgate/creditgate/internal/strhash"
	"github.com/creditgate/creditgate/internal/words"
	"github.com/creditgate/creditgate/store"
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
// Other, so a heavy key keeps its row even if it arrives late; the
// breakdowns kept for drilling down (an application's users, say; see
// Breakdown) have caps of their own (WithBreakdownCaps); at most
// DefaultTenants tenants are kept, the rest fold into tenant Other (an
// event recorded while the cap is reached mostly folds as it is recorded,
// even if the retention frees room before it is aggregated; about one
// tenant in 1,000 is placed when aggregated instead, and gets a row of its
// own if there is room then). A call's corrections land where the call
// did: RecordIn reports a call it folded, whose corrections then name
// Other, and each hour of a tenant is in one row (a tenant given a row in
// an hour when the aggregator placed its calls in Other, or those of one
// of about 8,000 groups of tenants, counts in it from the next hour).
// Hours
// older than the retention, counted back from the latest hour that two
// records have reached (see apply), are dropped.
//
// Record only appends to one of a few sharded buffers. Full buffers queue for
// aggregation, which a goroutine of the Stats runs (until Close); queries
// aggregate whatever is pending first, so a query sees every event recorded
// before it, and if the queue is full the recorder aggregates itself rather
// than let memory grow. The breakdowns are aggregated there too, never on
// Record's path. Safe for concurrent use.
type Stats struct {
	keep       int64 // hours retained: the retention rounded up
	maxPerDim  int
	pairKeys   int // caps of the breakdowns (WithBreakdownCaps); 0: none kept
	pairPerKey int
	seed       strhash.Seed
	shards     [numShards]shard

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
	other   *tenantUsage // tenants[Other], if any: where most events go past the cap
	// index finds a kept tenant by its key's hash (see findTenant) without
	// tenantKey and the map: each slot is nil or a tenant in tenants,
	// which dropTenant clears. noIndex keeps it empty, for the tests that
	// compare against the map alone.
	index   [indexSlots]*tenantUsage
	noIndex bool
	// newest is the retention window's last hour: the latest hour that two
	// aggregated events are dated at or after. latest is the latest hour
	// any is dated at. Unix hours; noHour before there are any.
	newest, latest int64

	stop     chan struct{} // closed by Close
	done     chan struct{} // closed when the drainer has exited
	closeOne sync.Once

	filter tenantFilter // which tenants fold into Other, read by RecordRequest
	// folded holds the aggregator's fold slots (see foldedAt), nil until
	// it first places an event in Other. Under mu.
	folded []int64
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
	// from is the first hour the row counts: an event of the tenant's
	// dated before it counts as Other's (see addTenant), so that each hour
	// of a tenant is in one row, and a correction finds its call's.
	from  int64
	hours map[int64]*hourUsage
	key   string // its key in Stats.tenants
	// renamed: the tenant is kept under a changed key (see tenantKey), and
	// name is its name (see TenantName), a copy of its own, or "" if it is
	// longer than maxNameBytes.
	name    string
	renamed bool
	// run holds the keys (clipped, copies of its own; tenant unused), hour
	// and kind of the latest event applied to this tenant, and runSum what the events with
	// those keys have brought since, not yet in hours: traffic repeats a
	// tenant's keys, and a run costs one compare where hours cost a dozen
	// map and pointer steps, each a cache miss when many tenants take turns.
	// It is settled into hours when the keys change and before any query
	// (see Stats.settleRuns); prune drops it with its hour.
	run    event
	runSum Count
	inRun  bool
	// runShort: each of run's five keys has 2 to 16 bytes (see sameRun).
	runShort bool
}

type hourUsage struct {
	total Count
	dims  [numDims]map[string]*Count
	// last is each dimension's most recently applied count: traffic repeats
	// its applications, methods and modules, so most applies skip the map.
	last  [numDims]*Count
	pairs [numOuters]*pairTable // the breakdowns, by outer dimension (see breakdowns)
}

// New returns statistics keeping retention (DefaultRetention when <= 0)
// of hour buckets with at most maxPerDimension keys per dimension (100 when <= 0),
// and the breakdowns for drilling down (see Breakdown, WithBreakdownCaps).
// Statistics are kept by the hour, so retention rounds up to whole hours:
// anything up to an hour keeps the newest hour.
func New(retention time.Duration, maxPerDimension int, opts ...Option) *Stats {
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
	u := &Stats{keep: keep, maxPerDim: maxPerDimension, pairKeys: DefaultBreakdownKeys, pairPerKey: DefaultBreakdownPerKey,
		seed: strhash.NewSeed(), newest: noHour, latest: noHour,
		tenants: map[string]*tenantUsage{}, full: make(chan []event, queueLen),
		free: make(chan []event, queueLen), kick: make(chan struct{}, 1),
		stop: make(chan struct{}), done: make(chan struct{})}
	u.filter.seed = rand.Uint64()
	for _, o := range opts {
		if o != nil {
			o.apply(u)
		}
	}
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

// Record counts one decision, and reports whether it counted it as
// tenant Other's (see RecordIn).
func (u *Stats) Record(e Event) bool { return u.RecordIn(strhash.String(u.seed, e.Tenant), &e) }

// Settle counts a settled difference of an admitted call's credits (its
// real cost less what it reserved), by application only, in at's hour:
// the call's, so that it lands in the row its call did (see Stats).
func (u *Stats) Settle(at time.Time, tenant, app string, delta int64) {
	u.SettleIn(strhash.String(u.seed, tenant), at, tenant, app, delta)
}

// RecordIn is Record into the buffer that buf (any well-mixed value) picks,
// for a caller that spreads one tenant's events over buffers so that cores
// do not queue on one: events recorded with the same buf are aggregated in
// the order recorded, so a call's settled difference should use its call's.
//
// It reports whether it counted e as tenant Other's as it recorded it
// (DefaultTenants are kept and e's is not): a refusal or settle of the
// call should then name Other as its tenant, so that it lands where the
// call did, even if e's tenant gets a row of its own later in the hour.
// (A tenant named Other is reported so too: its calls are Other's row.)
func (u *Stats) RecordIn(buf uint64, e *Event) bool {
	return u.RecordRequest(buf, e.At, &store.Request{Tenant: e.Tenant, App: e.App, Module: e.Module,
		IP: e.IP, User: e.User, Method: e.Method}, e.Credits, e.Refused)
}

// RecordRequest is RecordIn of the decision on req at at: a refusal, or
// an admitted call that spent credits, under req's Tenant, App, Module,
// IP, User and Method (a store reads the Tenant and App, and none of the
// other four), into the buffer buf picks; req's Credits, Class and Keep
// are not read (the call counts credits, what its decision cost). It
// reports whether it counted the call as Other's, as RecordIn does. It
// is Begin and Finish in one: the keys are read where the caller holds
// them, where an Event would be a copy of them (136 bytes) per call. req
// is only read: its strings are kept, not req.
func (u *Stats) RecordRequest(buf uint64, at time.Time, req *store.Request, credits int64, refused bool) bool {
	return u.Finish(u.Begin(buf, at.Unix(), req), req, credits, refused)
}

// A Recording is one decision's record between Begin, which does what
// needs no decision, and Finish, which counts the decision. A limiter
// begins it before its store decides, so that the statistics' loads (the
// fold filter's word, the buffer's open run) wait on memory while the
// store's lookup of the tenant does, not after it: at 100,000 tenants
// that took usage's cost from 15 % of an admission to 5 % (8 % with
// every key; BenchmarkUsageOverhead in package limiter). Begin holds nothing: a
// Recording never finished counts nothing and leaves nothing behind.
// Four words, passed in registers.
type Recording struct {
	sh  *shard
	w   uint64 // the open run's state, when the decision had its keys; else 0
	sec int64  // the decision's Unix second
	// fold is recFolded if the tenant is counted as Other's (not kept,
	// past the cap), and recOther if it is or the tenant is Other itself
	// (what Finish reports).
	fold uint8
}

const (
	recFolded = 1 << iota
	recOther
)

// Begin starts recording the decision on req at Unix second sec into the
// buffer buf picks (see RecordIn): it folds req's tenant into Other if it
// is not kept past the cap, and compares req's keys with the open run of
// decisions into that buffer. Finish, with the same req, counts the
// decision. req is only read.
func (u *Stats) Begin(buf uint64, sec int64, req *store.Request) Recording {
	// The filter's lookup of a 9- to 16-byte name is inline (the call of
	// foldsPast, which cannot be inlined, cost ~16 instructions a
	// decision past the cap).
	tenant := req.Tenant
	folded := false
	if f := &u.filter; f.full.Load() {
		if nameShort(tenant) { // foldsPast's common case, inline: it cannot be
			i, b := split(hash16(f.seed, tenant))
			folded = f.bits[i].Load()&b != b
		} else {
			folded = f.foldsPast(tenant)
		}
	}
	var fold uint8
	if folded {
		tenant = Other // now, so that it merges with the other folded tenants' events
		fold = recFolded | recOther
	} else if tenant == Other {
		fold = recOther
	}
	return u.shardOf(buf).begin(sec, fold, tenant, req)
}

// Finish counts the decision that r began with req: an admitted call that
// spent credits, or a refusal. It reports whether it counted the call as
// Other's, as RecordIn does. r must be one that Begin returned, finished
// once.
func (u *Stats) Finish(r Recording, req *store.Request, credits int64, refused bool) bool {
	if r.w == 0 || !r.sh.run.add(r.w, credits, refused) {
		tenant := req.Tenant
		if r.fold&recFolded != 0 {
			tenant = Other
		}
		u.recordLocked(r.sh, r.sec, tenant, req, credits, refused)
	}
	return r.fold&recOther != 0
}

// recordLocked is Finish of a decision that no open run took: it merges
// into the buffer's last event, or appends one, under the shard's lock.
// tenant is req's, or Other when it folds. (Apart, so that Finish's
// open-run path keeps a small frame.)
func (u *Stats) recordLocked(sh *shard, sec int64, tenant string, req *store.Request, credits int64, refused bool) {
	hour := hourOfSec(sec)
	credits, calls, refusals := counts(credits, refused)
	sh.lock()
	// Compared with the buffer's last event field by field, before an
	// event is built: a burst with the same keys (the common case) then
	// copies nothing, and no wide copy waits on the caller's narrow stores.
	if n := len(sh.buf); n > 0 {
		if l := &sh.buf[n-1]; words.Equal(l.tenant, tenant) && l.hasRun(hour, false, req.App, req.Module, req.IP, req.User, req.Method) {
			l.merge(credits, calls, refusals)
			sh.maybeOpen(l, tenant, req)
			sh.mu.Unlock()
			return
		}
	}
	// Written in place: a batch's slots are zero (see recycle), and a
	// built event copied in would cost the 136 bytes twice.
	l := u.next(sh)
	l.hour, l.tenant, l.app, l.module, l.ip, l.user, l.meth = hour, tenant, req.App, req.Module, req.IP, req.User, req.Method
	l.credits, l.calls, l.refused = credits, calls, refusals
	u.appended(sh)
}

// counts returns what a decision counts: an admitted call and its
// credits, or a refusal.
func counts(credits int64, refused bool) (int64, int64, int64) {
	if refused {
		return 0, 0, 1
	}
	return credits, 1, 0
}

// Refuse turns a call that Record counted, e as recorded, into a refusal
// (see RefuseIn).
func (u *Stats) Refuse(e Event) { u.RefuseIn(strhash.String(u.seed, e.Tenant), &e) }

// RefuseIn turns an admitted call that RecordIn counted with e into a
// refusal, for a request refused after its admission (by its body, say):
// the call and its e.Credits leave the rows of e's keys in e.At's hour
// (the call's: e as recorded), and a refusal counts there instead. e is the event as recorded (its
// Refused is ignored), and buf the call's, so that the two are aggregated
// in order. Settled differences of the call are not undone: settle to the
// recorded cost first, or not at all.
func (u *Stats) RefuseIn(buf uint64, e *Event) {
	credits := -max(e.Credits, -math.MaxInt64) // MinInt64 has no opposite
	u.push(buf, &event{hour: hourOf(e.At), tenant: e.Tenant, app: e.App, module: e.Module, ip: e.IP,
		user: e.User, meth: e.Method, credits: credits, calls: -1, refused: 1})
}

// Outside is the application under which RecordOutside counts credits.
const Outside = "(outside)"

// RecordOutside counts credits that tenant's pool lost, known at at,
// that no call recorded here spent: other consumers' spending, which a
// client learns from the server's limit headers. They count under
// application Outside as credits without calls (like a settled
// difference), a row of their own beside this process's applications.
func (u *Stats) RecordOutside(at time.Time, tenant string, credits int64) {
	u.Settle(at, tenant, Outside, credits)
}

// SettleIn is Settle into the buffer buf picks (see RecordIn).
func (u *Stats) SettleIn(buf uint64, at time.Time, tenant, app string, delta int64) {
	u.push(buf, &event{hour: hourOf(at), tenant: tenant, app: app, credits: delta, adjust: true})
}

// hourOf is the Unix hour of t, rounded down. It divides Unix seconds,
// not nanoseconds: UnixNano wraps before 1678 and after 2262, which put a
// far date in another hour and made an "all time" query find nothing.
func hourOf(t time.Time) int64 { return hourOfSec(t.Unix()) }

// hourOfSec is the Unix hour of Unix second s, rounded down.
func hourOfSec(s int64) int64 {
	h := s / 3600
	if s < 0 && s%3600 != 0 {
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
	sh := u.shardOf(h)
	sh.lock()
	if n := len(sh.buf); n > 0 {
		if last := &sh.buf[n-1]; sameKeys(last, e) {
			last.merge(e.credits, e.calls, e.refused)
			sh.mu.Unlock()
			return
		}
	}
	*u.next(sh) = *e
	u.appended(sh)
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
		sh.lock()
		u.mu.Lock()
		u.drainQueue() // the batches this shard handed over meanwhile, before its buffer
		u.aggregate(sh.buf)
		u.mu.Unlock()
		clear(sh.buf)
		sh.buf = sh.buf[:0]
		sh.mu.Unlock()
	}
	u.mu.Lock()
	u.settleRuns()
	u.mu.Unlock()
}
