package usage

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/creditgate/creditgate/internal/words"
	"github.com/creditgate/creditgate/store"
)

// recordInOld is RecordIn as it was before RecordRequest (791d841), with
// its tryRun and maybeOpen (copied, with counts for e.counts, and since
// 44107dd with the run's keys compared as six pointers and six lengths,
// as the new code stores them): the reference that RecordRequest must match.
// (TestRecordRequestMatchesRecordIn compares RecordRequest with RecordIn,
// which now calls RecordRequest: that test compares the new code with
// itself.)
func (u *Stats) recordInOld(buf uint64, e *Event) bool {
	tenant := e.Tenant
	if u.filter.folds(tenant) {
		tenant = Other
	}
	sh := u.shardOf(buf)
	if w := sh.run.state.Load(); w&runOpen != 0 && sh.tryRunOld(w, tenant, e) {
		return tenant == Other
	}
	hour := hourOf(e.At)
	credits, calls, refused := counts(e.Credits, e.Refused)
	sh.lock()
	if n := len(sh.buf); n > 0 {
		if l := &sh.buf[n-1]; words.Equal(l.tenant, tenant) && l.hasRun(hour, false, e.App, e.Module, e.IP, e.User, e.Method) {
			l.merge(credits, calls, refused)
			sh.maybeOpenOld(l, tenant, e)
			sh.mu.Unlock()
			return tenant == Other
		}
	}
	l := u.next(sh)
	l.hour, l.tenant, l.app, l.module, l.ip, l.user, l.meth = hour, tenant, e.App, e.Module, e.IP, e.User, e.Method
	l.credits, l.calls, l.refused = credits, calls, refused
	u.appended(sh)
	return tenant == Other
}

func (sh *shard) tryRunOld(w uint64, tenant string, e *Event) bool {
	r := &sh.run
	sec := e.At.Unix()
	credits, calls, refused := counts(e.Credits, e.Refused)
	same := true
	for i, k := range [6]string{tenant, e.App, e.Module, e.IP, e.User, e.Method} {
		same = same && r.ptrs[i].Load() == strPtr(k) && r.lens[i].Load() == uint64(len(k))
	}
	if !same || sec < r.from.Load() || sec >= r.until.Load() {
		return false
	}
	if uint64(credits) > creditsMax {
		return false
	}
	add := uint64(credits)<<creditsShift + uint64(calls) + uint64(refused)<<refusedShift
	for {
		if (w+add)&runGuards != 0 {
			return false
		}
		if r.state.CompareAndSwap(w, w+add) {
			return true
		}
		if x := r.state.Load(); x&(runOpen|tagMask) == w&(runOpen|tagMask) {
			w = x
			continue
		}
		return false
	}
}

func (sh *shard) maybeOpenOld(l *event, tenant string, e *Event) {
	if l.hour <= math.MinInt64/3600 || l.hour >= math.MaxInt64/3600 || l.calls+l.refused < openAfter || !samePtr(l.tenant, tenant) || !samePtr(l.app, e.App) ||
		!samePtr(l.module, e.Module) || !samePtr(l.ip, e.IP) || !samePtr(l.user, e.User) || !samePtr(l.meth, e.Method) {
		return
	}
	r := &sh.run
	for i, s := range [6]string{tenant, e.App, e.Module, e.IP, e.User, e.Method} {
		if p := strPtr(s); r.ptrs[i].Load() != p {
			r.ptrs[i].Store(p)
		}
	}
	for i, k := range [6]string{tenant, e.App, e.Module, e.IP, e.User, e.Method} {
		if r.lens[i].Load() != uint64(len(k)) {
			r.lens[i].Store(uint64(len(k)))
		}
	}
	if from := l.hour * 3600; r.from.Load() != from || r.until.Load() != from+3600 {
		r.from.Store(from)
		r.until.Store(from + 3600)
	}
	tag := (r.state.Load() + 1<<tagShift) & tagMask
	r.state.Store(runOpen | tag)
}

// Reviewer-86: RecordRequest against the code it replaced, decision for
// decision on one goroutine: the same fold reports, the same open runs
// (state, keys, bounds) after every decision, the same buffers event for
// event, and the same rows. The decisions cover the edges of a run's
// fields and of the hours: credits 0, creditsMax and one more, negative,
// MinInt64 and MaxInt64 (refused and not), keys of 1<<16 bytes and one
// less, empty strings, a tenant named "other" (a copy, not Other's
// string), tenants past the cap, and seconds at the int64 edges.
func TestRecordRequestMatchesOldRecordIn(t *testing.T) {
	long := strings.Repeat("k", 1<<16)
	keys := []string{"", "sync", "web", long[:1<<16-1], long, strings.Clone(Other)}
	creditsOf := []int64{0, 1, 2, creditsMax - 1, creditsMax, creditsMax + 1, -1, math.MinInt64, math.MaxInt64, 1 << 40}
	base := time.Date(2026, 5, 1, 10, 59, 30, 0, time.UTC)
	times := []time.Time{base, base.Add(40 * time.Second), time.Unix(math.MaxInt64/3600*3600-1, 0),
		time.Unix(math.MaxInt64/3600*3600+5, 0), time.Unix(math.MinInt64/3600*3600+5, 0),
		time.Unix(math.MinInt64/3600*3600-1, 0), time.Unix(-1, 0), time.Unix(0, 0)}
	names := make([]string, DefaultTenants+300)
	for i := range names {
		names[i] = fmt.Sprintf("tenant-%06d", i)
	}
	names[7] = strings.Clone(Other)
	allRows := 0
	defer func() {
		if !t.Failed() && allRows < 12 {
			t.Errorf("%d rows compared over all seeds", allRows)
		}
	}()
	for seed := range 12 {
		rng := rand.New(rand.NewPCG(uint64(seed), 86))
		a, b := newStats(t, 0, 100), newStats(t, 0, 100)
		for _, u := range []*Stats{a, b} { // aggregated when the test says (or a queue fills)
			if err := u.Close(context.Background()); err != nil {
				t.Fatal(err)
			}
		}
		b.seed, b.filter.seed = a.seed, a.filter.seed
		var req store.Request
		at := times[0]
		burst, runs, folds, refusedInRun := 0, 0, 0, 0
		for i := range len(names) + 6000 {
			if i == len(names) || rng.IntN(700) == 0 { // after every tenant's first call: the cap is reached
				a.flush()
				b.flush()
			}
			if burst > 0 {
				burst-- // the very same strings again: a run opens
			} else {
				pick := func() string { return keys[rng.IntN(len(keys))] }
				req = store.Request{Tenant: names[rng.IntN(len(names))], App: pick(), Module: pick(), IP: pick(), User: pick(), Method: pick()}
				if rng.IntN(4) != 0 {
					req.Module, req.IP, req.User = "", "", "" // short keys: most bursts can open a run
				}
				at = times[rng.IntN(2)]
				if rng.IntN(40) == 0 { // now and then an edge, whose retention drops the rest
					at = times[rng.IntN(len(times))]
				}
				burst = rng.IntN(3) * rng.IntN(80)
				if i < len(names) { // first each tenant once, in order
					req.Tenant, at, burst = names[i], times[0], 0
				}
			}
			credits := int64(rng.IntN(4))
			if rng.IntN(6) == 0 {
				credits = creditsOf[rng.IntN(len(creditsOf))]
			}
			refused := rng.IntN(7) == 0
			buf := uint64(rng.IntN(2)) << 32
			open := b.shardOf(buf).run.state.Load()&runOpen != 0
			e := Event{At: at, Tenant: req.Tenant, App: req.App, Module: req.Module, IP: req.IP, User: req.User,
				Method: req.Method, Credits: credits, Refused: refused}
			fa, fb := a.recordInOld(buf, &e), b.RecordRequest(buf, at, &req, credits, refused)
			if fa != fb {
				t.Fatalf("seed %d call %d (%+v): the old RecordIn reports folded %v, RecordRequest %v", seed, i, e, fa, fb)
			}
			if fa {
				folds++
			}
			if open && refused && b.shardOf(buf).run.state.Load()&runOpen != 0 {
				refusedInRun++
			}
			for j := range a.shards {
				ra, rb := &a.shards[j].run, &b.shards[j].run
				if ra.state.Load() != rb.state.Load() || ra.from.Load() != rb.from.Load() || ra.until.Load() != rb.until.Load() {
					t.Fatalf("seed %d call %d (%+v) shard %d: runs differ: state %x vs %x", seed, i, e, j, ra.state.Load(), rb.state.Load())
				}
				for k := range ra.ptrs {
					if ra.ptrs[k].Load() != rb.ptrs[k].Load() || ra.lens[k].Load() != rb.lens[k].Load() {
						t.Fatalf("seed %d call %d shard %d: run key %d differs", seed, i, j, k)
					}
				}
				if ra.state.Load()&runOpen != 0 {
					runs++
				}
			}
			if i%53 != 0 {
				continue
			}
			for j := range a.shards {
				a.shards[j].lock()
				b.shards[j].lock()
				if !reflect.DeepEqual(a.shards[j].buf, b.shards[j].buf) {
					t.Fatalf("seed %d call %d shard %d: buffers differ:\n%+v\n%+v", seed, i, j, a.shards[j].buf, b.shards[j].buf)
				}
				a.shards[j].mu.Unlock()
				b.shards[j].mu.Unlock()
			}
		}
		if folds == 0 || runs == 0 || refusedInRun == 0 {
			t.Fatalf("seed %d: %d folded, %d open runs seen, %d refusals in a run: the test missed a path", seed, folds, runs, refusedInRun)
		}
		// Hour by hour: a query over several hours sums them in map order,
		// which with saturated credits (MaxInt64 in one hour, MinInt64 in
		// another) gives different sums from one query to the next.
		rows := 0 // none in a seed whose last decisions fell at the int64 edges (retention dropped the rest)
		for _, at := range times {
			since := time.Unix(hourOf(at)*3600, 0)
			until := since.Add(time.Hour)
			ra, rb := a.TenantRows(since, until), b.TenantRows(since, until)
			if fmt.Sprint(ra) != fmt.Sprint(rb) {
				t.Fatalf("seed %d hour of %v: rows differ:\n%v\n%v", seed, at, ra, rb)
			}
			rows += len(ra)
			for _, dim := range []Dimension{App, Module, IP, User, Method} {
				for _, ten := range []string{Other, names[3], names[1]} {
					if ta, tb := a.Top(ten, dim, since, until, 10), b.Top(ten, dim, since, until, 10); fmt.Sprint(ta) != fmt.Sprint(tb) {
						t.Fatalf("seed %d hour of %v tenant %s dimension %d: rows differ:\n%v\n%v", seed, at, ten, dim, ta, tb)
					}
				}
			}
		}
		allRows += rows
	}
}
