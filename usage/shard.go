package usage

import (
	"github.com/creditgate/creditgate/store"
	"math"
	"sync"
	"sync/atomic"
	"unsafe"
)

// shard is 256 bytes (a multiple of 128), so that two shards' words
// never share a cache line whatever the alignment of the Stats (at 72
// bytes they did, and two cores recording into neighbouring shards fought
// over the line).
type shard struct {
	// run first: what a decision in an open run reads (state, keys,
	// bounds: 120 bytes) together, on two lines or three as the Stats
	// falls (its shards are not line-aligned), the mutex after them.
	run openRun
	mu  sync.Mutex // protects buf; taken by lock, which closes run
	buf []event
	_   [104]byte // to 256 bytes: shardOf's index is then a shift
}

// shardOf is the shard that buffer key h picks.
func (u *Stats) shardOf(h uint64) *shard { return &u.shards[(h>>32)%numShards] }

// next appends a zero event to sh's buffer, whose lock the caller holds,
// and returns it for the caller to fill in before it calls appended.
func (u *Stats) next(sh *shard) *event {
	if sh.buf == nil {
		sh.buf = u.newBatch()
	}
	n := len(sh.buf)
	sh.buf = sh.buf[:n+1]
	return &sh.buf[n]
}

// appended unlocks sh after next, and hands a full buffer to the
// aggregator.
func (u *Stats) appended(sh *shard) {
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

// openRun lets Finish count a decision with one compare-and-swap instead
// of the shard's lock and unlock when it repeats the buffer's last event:
// the same keys as the very same strings, in the same hour. While open,
// its counts belong to that last event. Whoever takes the lock closes it
// first (see lock), merging its counts into the event, so that every
// reader of the buffer finds what a locked merge would have left, and a
// decision that finds it closed takes the lock like any other: order and
// counts stay as if every decision had taken the lock.
type openRun struct {
	// state is runOpen, a tag that changes whenever the run opens (so a
	// decision that compared the keys of an earlier run fails its CAS,
	// unless 2^30 openings, each after a locked merge, pass between its
	// load in Begin and its CAS in Finish), and the counts since it
	// opened, each with a clear guard bit above it (see runGuards).
	state atomic.Uint64
	// The last event's keys: its strings' data pointers and lengths.
	// Only compared, never read through: the event holds its strings,
	// so while the run is open the same pointer and length is the same
	// string. (An empty key's pointer is compared too: "" from another
	// place, with another pointer, misses the run and takes the lock,
	// which counts it the same. Masking the pointers of empty keys, and
	// packing the lengths into two words, cost ~38 instructions a
	// decision, a fifth of recording one into the run.)
	ptrs [6]atomic.Uintptr
	lens [6]atomic.Uint64
	// from and until bound the event's hour in Unix seconds: a time
	// has that hour (see hourOf) exactly when its second lies in
	// [from, until): two compares, where hourOf's division and floor
	// cost ~7 instructions more a decision.
	from, until atomic.Int64
}

// The fields of openRun.state. A count that would overflow its field
// takes the lock, which closes the run and opens it afresh. Each count
// has a guard bit above it, clear in every state stored: adding a
// decision's counts (a count at most its field's maximum) sets it
// exactly when that count overflows, so one test of the sum finds any
// (where three extracted and compared cost ~20 instructions a decision).
const (
	runOpen      = 1 << 63
	tagShift     = 33
	tagMask      = (1<<30 - 1) << tagShift
	callsMax     = 1<<9 - 1
	refusedShift = 10
	refusedMax   = 1<<7 - 1
	creditsShift = 18
	creditsMax   = 1<<14 - 1
	runGuards    = (callsMax + 1) | (refusedMax+1)<<refusedShift | (creditsMax+1)<<creditsShift
	// openAfter is how many decisions the buffer's last event counts
	// (its first and the merges) when a run opens on it: a burst. Two,
	// not eight: a decision of a kept tenant among folded ones (1 % of
	// them at 100,000 tenants) closes the folded tenants' run, and each
	// decision until it opens again takes the lock (with eight, 36
	// instructions more a decision in KeyedFull at 100,000 keys).
	openAfter = 2
)

// lock takes sh's lock and closes its run.
func (sh *shard) lock() {
	sh.mu.Lock()
	r := &sh.run
	if r.state.Load()&runOpen == 0 {
		return
	}
	w := r.state.And(^uint64(runOpen))
	sh.buf[len(sh.buf)-1].merge(int64(w>>creditsShift&creditsMax), int64(w&callsMax), int64(w>>refusedShift&refusedMax))
}

// begin is Begin's Recording into sh, of a decision on req at Unix
// second sec with tenant for req.Tenant: with the run's state if the
// run is open with these keys and hour. (Apart, and last in Begin, so
// that nothing of Begin's is live across the compare.)
func (sh *shard) begin(sec int64, fold uint8, tenant string, req *store.Request) Recording {
	r := Recording{sh: sh, sec: sec, fold: fold}
	// The open bit first: with many tenants taking turns the run is
	// mostly closed, and the compare of the keys costs ~40 instructions.
	run := &sh.run
	w := run.state.Load()
	if w&runOpen == 0 {
		return r
	}
	// Their differences are ORed and tested once, where a || of the
	// compares cost ~8 instructions more of flags and jumps. (^ and |
	// bind alike in Go: each difference in parentheses.) Keys read here
	// may be a later run's, stored since w was loaded (keys are stored
	// only while the run is closed): its tag then differs from w's, and
	// Finish's compare-and-swap with w fails.
	ps := (run.ptrs[0].Load() ^ strPtr(tenant)) | (run.ptrs[1].Load() ^ strPtr(req.App)) |
		(run.ptrs[2].Load() ^ strPtr(req.Module)) | (run.ptrs[3].Load() ^ strPtr(req.IP)) |
		(run.ptrs[4].Load() ^ strPtr(req.User)) | (run.ptrs[5].Load() ^ strPtr(req.Method))
	ls := (run.lens[0].Load() ^ uint64(len(tenant))) | (run.lens[1].Load() ^ uint64(len(req.App))) |
		(run.lens[2].Load() ^ uint64(len(req.Module))) | (run.lens[3].Load() ^ uint64(len(req.IP))) |
		(run.lens[4].Load() ^ uint64(len(req.User))) | (run.lens[5].Load() ^ uint64(len(req.Method)))
	if ls|uint64(ps) == 0 && sec >= run.from.Load() && sec < run.until.Load() {
		r.w = w
	}
	return r
}

// add counts a decision, whose keys Begin found in the run when its state
// was w, into the run, and reports whether it did: not if the run has
// closed since (its tag changed), or a count would overflow.
func (r *openRun) add(w uint64, credits int64, refusal bool) bool {
	add := uint64(1) << refusedShift // a refusal
	if !refusal {
		if uint64(credits) > creditsMax {
			return false // credits < 0, or more than a run holds
		}
		add = uint64(credits)<<creditsShift | 1 // a call
	}
	for {
		if (w+add)&runGuards != 0 {
			return false // full
		}
		if r.state.CompareAndSwap(w, w+add) {
			return true
		}
		// Another decision counted first: the keys are the same while
		// the run is open with the same tag.
		if x := r.state.Load(); x&(runOpen|tagMask) == w&(runOpen|tagMask) {
			w = x
			continue
		}
		return false
	}
}

// maybeOpen opens sh's run for the buffer's last event l, into which a
// decision with these strings just merged, once l counts a burst and if
// the decision passed l's very strings (a caller with copies would
// never match the run, and close it each time). Called with sh.mu held.
func (sh *shard) maybeOpen(l *event, tenant string, req *store.Request) {
	// An hour whose bounds in seconds overflow an int64 (the first or
	// last that one holds) opens no run.
	if l.hour <= math.MinInt64/3600 || l.hour >= math.MaxInt64/3600 || l.calls+l.refused < openAfter || !samePtr(l.tenant, tenant) || !samePtr(l.app, req.App) ||
		!samePtr(l.module, req.Module) || !samePtr(l.ip, req.IP) || !samePtr(l.user, req.User) || !samePtr(l.meth, req.Method) {
		return
	}
	r := &sh.run
	// Stored only where they changed: a run that fills up opens again
	// with the same keys at the cost of the state's store alone.
	for i, s := range [6]string{tenant, req.App, req.Module, req.IP, req.User, req.Method} {
		if p := strPtr(s); r.ptrs[i].Load() != p {
			r.ptrs[i].Store(p)
		}
	}
	for i, s := range [6]string{tenant, req.App, req.Module, req.IP, req.User, req.Method} {
		if v := uint64(len(s)); r.lens[i].Load() != v {
			r.lens[i].Store(v)
		}
	}
	// Both bounds compared: a new shard's are 0 and 0, so from alone
	// (hour 0) or until alone (hour -1) may already hold the new value.
	if from := l.hour * 3600; r.from.Load() != from || r.until.Load() != from+3600 {
		r.from.Store(from)
		r.until.Store(from + 3600)
	}
	tag := (r.state.Load() + 1<<tagShift) & tagMask
	r.state.Store(runOpen | tag) // last: a decision that sees it open sees the keys
}

// strPtr is s's data pointer as a number. Never turned back into a
// pointer.
func strPtr(s string) uintptr { return uintptr(unsafe.Pointer(unsafe.StringData(s))) }
