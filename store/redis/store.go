package redis

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/creditgate/creditgate/store"
)

// Store is a store.Store on Redis, shared by every instance that uses the
// same Redis (and prefix): one credit pool, one set of concurrency caps.
// Each step is one Lua script run (one round trip; see the package doc).
// Safe for concurrent use. It runs a goroutine that renews its leases (and,
// with credit leasing, gives back idle blocks, and after an outage books
// what was spent meanwhile): call Close.
type Store struct {
	c       goredis.UniversalClient
	cfg     config
	inst    string // this instance's id, the prefix of its step ids
	seq     atomic.Uint64
	tenants tenants
	plans   plans
	brk     breaker
	held    leases
	rel     releaser
	stats   counters
	lastNow atomic.Int64 // client time mode: the latest now seen (us), for background steps

	mu sync.Mutex // protects Tenants' gathering across cluster nodes

	stop    chan struct{}
	stopped chan struct{}
	once    sync.Once
}

var (
	_ store.Store[Lease] = (*Store)(nil)
	_ store.Lister       = (*Store)(nil)
)

// Errors of New.
var (
	ErrNilClient = errors.New("redis: nil client")
	ErrConfig    = errors.New("redis: bad option")
)

// New returns a store on c. The client's own timeouts should not exceed
// WithTimeout (or set ContextTimeoutEnabled, so the store's deadlines
// apply to each round trip).
func New(c goredis.UniversalClient, opts ...Option) (*Store, error) {
	if c == nil {
		return nil, ErrNilClient
	}
	cfg := buildConfig(opts)
	switch {
	case cfg.slots < 1 || cfg.slots > maxWindowSlots, cfg.timeout <= 0, cfg.leaseTTL < 3*time.Millisecond,
		cfg.replayTTL < cfg.timeout, cfg.instances < 1, cfg.failures < 1, cfg.cooldown <= 0,
		cfg.maxBlock < 0, cfg.mode > Degraded,
		strings.ContainsAny(cfg.prefix, "{}"): // it would set the hash tag: "{}" one slot per key, "{x}" one for all

		return nil, ErrConfig
	}
	var id [6]byte
	_, _ = rand.Read(id[:])
	s := &Store{c: c, cfg: cfg, inst: base64.RawURLEncoding.EncodeToString(id[:]),
		stop: make(chan struct{}), stopped: make(chan struct{})}
	s.tenants = tenants{prefix: cfg.prefix, max: cfg.maxTenants}
	s.plans = plans{slots: cfg.slots, m: map[*store.Plan]*planInfo{}}
	s.brk = breaker{failures: cfg.failures, cooldown: cfg.cooldown, opens: &s.stats.opens}
	s.held.init()
	s.rel = releaser{kick: make(chan struct{}, 1), done: make(chan struct{})}
	go s.background()
	go s.flusher()
	return s, nil
}

// Close stops the store's goroutine (giving back leased blocks and spare
// slots first, if Redis answers) and waits for it, or for ctx.
func (s *Store) Close(ctx context.Context) error {
	s.once.Do(func() { close(s.stop) })
	for _, c := range []chan struct{}{s.stopped, s.rel.done} {
		select {
		case <-c:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

// Lease is the store's lease: what Release and Settle need, no lookup.
// Callers hold it and pass it back untouched.
type Lease struct {
	t      *tenant
	pi     *planInfo
	akey   string
	ckey   string // "" when the class is not capped
	member string // the slots' member in the lease sets, "" if none
	at     int64  // us: the instant the credits were counted at
	kind   leaseKind
	// nospare: the slot is not kept as a spare when the call ends (a
	// composite call of its application was refused: see L.marked)
	nospare bool
	pair    string    // app and class, the key of a spare slot
	deg     *degraded // the share a degradedLease took its credits from
	units   int64     // of the application's cap, for a degradedLease
	credits int64     // what the Take and the Settles charged: a Settle's Exceeds is of the whole
}

type leaseKind uint8

const (
	remoteLease   leaseKind = iota // slots and credits in Redis
	degradedLease                  // slots and credits in the degraded share
	openLease                      // admitted by FailOpen: nothing held
)

// unitMember is the lease-set member of a take of units with step id id:
// id itself for one unit, else id*units, which the scripts read (L.units
// in ops.lua) to hold that many members of the application's key.
func unitMember(id string, units int64) string {
	if units <= 1 {
		return id
	}
	return id + "*" + strconv.FormatInt(units, 10)
}

// memberUnits is the units a lease-set member takes (see unitMember).
func memberUnits(member string) int64 {
	i := strings.LastIndexByte(member, '*')
	if i < 0 {
		return 1
	}
	n, err := strconv.ParseInt(member[i+1:], 10, 64)
	if err != nil || n < 1 {
		return 1
	}
	return n
}

// newID is a step id unique across instances.
func (s *Store) newID() string {
	return s.inst + "." + strconv.FormatUint(s.seq.Add(1), 36)
}

// nowArg is the script's now: "" for Redis's clock.
func (s *Store) nowArg(now time.Time) any {
	if !s.cfg.clientTime {
		return ""
	}
	u := now.UnixMicro()
	for {
		l := s.lastNow.Load()
		if u <= l || s.lastNow.CompareAndSwap(l, u) {
			break
		}
	}
	return u
}

// planOf is the plan a step uses: the one Redis holds for the tenant, as
// this instance last saw it, else the caller's.
func (s *Store) planOf(t *tenant, plans store.PlanFunc) *planInfo {
	if pi := t.override.Load(); pi != nil {
		return pi
	}
	return s.plans.get(plans(t.name))
}

// stepKeys are a step's KEYS: the tenant's, the slots' (W when none) and
// the replay record's (W when the step needs none).
func stepKeys(t *tenant, akey, ckey, id string) []string {
	k := []string{t.kw, t.kq, t.kw, t.kw, t.kw}
	if akey != "" {
		k[2] = akey
	}
	if ckey != "" {
		k[3] = ckey
	}
	if id != "" {
		k[4] = t.tag + ":r:" + id
	}
	return k
}

// takeWant is the position of the block wanted among a take's arguments
// (see Take and op_take).
const takeWant = 5

// maxSteps bounds the plan and period retries of one step.
const maxSteps = 4

// step runs op for t under pi at now, switching to the plan Redis holds
// when it differs and computing calendar periods at Redis's instant when
// asked. ckeyFor gives the class key under a plan ("" if uncapped).
func (s *Store) step(op string, t *tenant, pi *planInfo, now time.Time, akey string, ckeyFor func(*planInfo) string,
	class, id string, opArgs ...any) (reply, *planInfo, error) {
	at := now
	for range maxSteps {
		ckey := ckeyFor(pi)
		args := make([]any, 0, 16+len(opArgs))
		args = append(args, op, s.nowArg(now))
		args = pi.args(args, class, s.cfg.replayTTL.Milliseconds(), at)
		args = append(args, opArgs...)
		replayAt := -1
		if op == "take" {
			replayAt = len(args) - 1 // the take's last argument (see Take)
		}
		pre := t.takePending()
		var same []string
		if op == "take" { // releases of the take's own slots ride in the script
			pre, same = split(pre, akey, ckey)
			for _, m := range same {
				args = append(args, m)
			}
		}
		v, err := s.call(stepKeys(t, akey, ckey, id), args, pre, replayAt)
		if replayAt >= 0 && args[replayAt] == "1" {
			// sent again after an ambiguous error: it may have run, and a
			// run for another plan or periods must know it (see op_take)
			opArgs[len(opArgs)-1] = "1"
		}
		if err != nil {
			for _, r := range pre {
				s.queue(t, r) // for the flusher, or the next step
			}
			for _, m := range same {
				s.queue(t, rel{akey, ckey, m})
			}
			return reply{}, pi, err
		}
		switch status(v) {
		case statusOK:
			r, err := readReply(v)
			if err == nil && s.cfg.maxBlock > 0 {
				s.checkBlock(t, r.epoch, r.u)
			}
			if err == nil && r.stored == 0 && t.override.Load() != nil {
				t.override.Store(nil) // gone with the idle tenant: the caller's plans again
			}
			return r, pi, err
		case statusPlan:
			enc, _ := v[1].(string)
			p, err := decodePlan(enc)
			if err != nil {
				return reply{}, pi, err
			}
			pi = newPlanInfo(p, s.cfg.slots)
			t.override.Store(pi)
			if op == "take" && !pi.roll {
				opArgs[takeWant] = int64(0) // credit leasing applies only when every window rolls (see takeLocal)
			}
		case statusPeriods:
			u, _ := v[1].(int64)
			at = time.UnixMicro(u)
		default:
			return reply{}, pi, ErrReply
		}
	}
	return reply{}, pi, ErrReply
}

// noClass is ckeyFor of steps that touch no slots.
func noClass(*planInfo) string { return "" }

// decision fills d from r under pi, for a request of class.
func decision(r reply, pi *planInfo, class string, d *store.Decision) {
	*d = store.Decision{Allowed: r.reason == 0, Reason: store.Reason(r.reason), Cost: r.cost,
		Limit: pi.p.Credits, Remaining: r.remaining, Used: r.used, Reset: time.UnixMicro(r.reset),
		Window: pi.p.WindowLength()}
	switch {
	case d.Reason == store.ReasonCredits && r.retry < 0:
		d.RetryAfter = d.Window // more than the pool: never, in practice
	case d.Reason == store.ReasonCredits:
		d.RetryAfter = time.Duration(r.retry) * time.Microsecond
	case d.Reason != store.ReasonNone:
		d.RetryAfter = store.ConcurrencyRetryAfter
	}
	d.PlanFigures(pi.p, class)
}
