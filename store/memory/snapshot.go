package memory

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"iter"
	"slices"
	"strings"
	"time"

	"github.com/creditgate/creditgate/store"
	"github.com/creditgate/creditgate/window"
)

// ErrSnapshotTenants is returned (wrapped) when a snapshot's tenants do not
// fit in the store's bytes (WithMaxBytes) even folded: restoring only some
// would hand the others fresh pools, so none is restored.
var ErrSnapshotTenants = errors.New("memory: snapshot holds more tenants than the store may")

// SnapshotVersionError is returned by RestoreAt for a snapshot written in a
// format version this code does not read.
type SnapshotVersionError struct{ Version int }

func (e *SnapshotVersionError) Error() string {
	return fmt.Sprintf("memory: snapshot version %d not supported (want %d)", e.Version, snapshotVersion)
}

const (
	snapshotFormat  = "creditgate-limiter-snapshot"
	snapshotVersion = 2 // the newest read, and the one written
)

// The snapshot is JSON: for each tenant with credits out, when (absolute Unix
// ns) how many credits come back to its pool. That is a window's state up
// to slot granularity and does not depend on its slot layout. Version 2,
// the one written, adds the pool's length and kind, and every extra
// window's length, kind and returns, also of one with nothing out (as a
// folded tenant's record): a restore under another plan then carries the
// spends as a live plan change does, which takes a window's spends from
// an empty one too (see pick). Version 1 is still read.
type snapshot struct {
	Format  string           `json:"format"`
	Version int              `json:"version"`
	Taken   int64            `json:"taken"`
	Tenants []snapshotTenant `json:"tenants"`
}

type snapshotTenant struct {
	Tenant  string          `json:"tenant"`
	Returns []snapshotSpend `json:"returns"` // the pool's
	// Version 2: the pool's window (ns; a calendar's
	// period) and whether it is a calendar window.
	Window   int64            `json:"window,omitempty"`
	Calendar bool             `json:"calendar,omitempty"`
	Extra    []snapshotWindow `json:"extra,omitempty"`
}

// snapshotWindow is an extra window's spending (version 2).
type snapshotWindow struct {
	Window   int64           `json:"window"`
	Calendar bool            `json:"calendar,omitempty"`
	Returns  []snapshotSpend `json:"returns"`
}

type snapshotSpend struct {
	At      int64 `json:"at"` // Unix ns at which Credits come back
	Credits int64 `json:"credits"`
}

// SnapshotAt implements store.Snapshotter: for every tenant with credits
// spent at now, when the spent credits of its pool and of its extra
// windows come back (versioned JSON). In-flight slots are not saved: they
// do not survive the process.
func (s *Store) SnapshotAt(now time.Time, w io.Writer) error {
	snap := snapshot{Format: snapshotFormat, Version: snapshotVersion, Taken: now.UnixNano()}
	out := func(returns iter.Seq2[time.Time, int64]) []snapshotSpend {
		var ret []snapshotSpend
		for at, n := range returns {
			if at.After(now) {
				ret = append(ret, snapshotSpend{At: at.UnixNano(), Credits: n})
			}
		}
		return ret
	}
	add := func(key string, srcs []source) {
		st := snapshotTenant{Tenant: key, Returns: out(srcs[0].returns)}
		spent := len(st.Returns) > 0
		for _, x := range srcs[1:] {
			ret := out(x.returns)
			spent = spent || len(ret) > 0
			st.Extra = append(st.Extra, snapshotWindow{Window: int64(x.length), Calendar: !x.rolls, Returns: ret})
		}
		if !spent {
			return
		}
		st.Window, st.Calendar = int64(srcs[0].length), !srcs[0].rolls
		snap.Tenants = append(snap.Tenants, st)
	}
	var folded []string // a shard's folded keys and records, in pairs
	for i := range s.shards {
		sh := &s.shards[i]
		// The table and the folded records under one hold of mu: a sweep
		// or a creation in between would move a tenant from one to the
		// other, and the snapshot would list it twice or not at all.
		sh.mu.Lock()
		active := sh.tenants()
		folded = folded[:0]
		for key, rec := range sh.folded {
			folded = append(folded, key, rec)
		}
		sh.mu.Unlock()
		for _, t := range active {
			add(t.key, sourcesOf(now, t.wins.Load()))
		}
		for j := 0; j < len(folded); j += 2 {
			if srcs := foldSources(folded[j+1], time.UTC); len(srcs) > 0 {
				add(folded[j], srcs)
			}
		}
	}
	slices.SortFunc(snap.Tenants, func(a, b snapshotTenant) int { return strings.Compare(a.Tenant, b.Tenant) })
	return json.NewEncoder(w).Encode(&snap)
}

// RestoreAt implements store.Snapshotter, for a store meant to be fresh (call
// it before serving): each tenant of the snapshot that the store does not
// hold yet is created with its plan and charged the credits still out at
// now, so they come back when they would have. Tenants already present are
// left alone. Those that do not fit in the store's bounds as active tenants
// are restored folded, as the store keeps idle ones (see Store). A corrupt,
// truncated or foreign snapshot (or one followed by anything but white
// space) gives an error wrapping store.ErrSnapshotCorrupt, another version a
// *SnapshotVersionError, tenants that do not fit in WithMaxBytes even folded
// ErrSnapshotTenants; in each case nothing is changed. A now before the
// snapshot was taken (the restoring clock behind the snapshotting one) is
// taken as the snapshot's time: charged at the earlier now, a spend would
// come back early (a calendar's whole pool at the earlier period's end).
func (s *Store) RestoreAt(now time.Time, r io.Reader, plans store.PlanFunc) error {
	snap, err := readSnapshot(r)
	if err != nil {
		return err
	}
	if taken := time.Unix(0, snap.Taken).In(now.Location()); taken.After(now) {
		now = taken // the windows count a later take at their newest slot or period: conservative
	}
	rs, err := s.planRestore(now, snap, plans)
	if err != nil {
		return err
	}
	for i := range rs {
		s.restore(now, &rs[i], plans)
	}
	return nil
}

// readSnapshot decodes and checks a snapshot.
func readSnapshot(r io.Reader) (*snapshot, error) {
	var snap snapshot
	dec := json.NewDecoder(r)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&snap); err != nil {
		return nil, fmt.Errorf("%w: %v", store.ErrSnapshotCorrupt, err)
	}
	if _, err := dec.Token(); err != io.EOF { // a second value, or the start of one
		return nil, fmt.Errorf("%w: data after the snapshot", store.ErrSnapshotCorrupt)
	}
	if snap.Format != snapshotFormat {
		return nil, fmt.Errorf("%w: format %q", store.ErrSnapshotCorrupt, snap.Format)
	}
	if snap.Version < 1 || snap.Version > snapshotVersion {
		return nil, &SnapshotVersionError{Version: snap.Version}
	}
	seen := map[string]bool{}
	for _, t := range snap.Tenants {
		if seen[t.Tenant] { // "" is the default tenant (no identity): a tenant like any other
			return nil, fmt.Errorf("%w: repeated tenant %q", store.ErrSnapshotCorrupt, t.Tenant)
		}
		seen[t.Tenant] = true
		if err := checkTenant(snap.Version, t); err != nil {
			return nil, fmt.Errorf("%w: tenant %q: %v", store.ErrSnapshotCorrupt, t.Tenant, err)
		}
	}
	return &snap, nil
}

// checkTenant reports what is wrong with a tenant's entry: a bad return, or
// version 2's fields in part, in version 1, or with a bad window length.
func checkTenant(version int, t snapshotTenant) error {
	if version < 2 || t.Window == 0 && len(t.Extra) == 0 && !t.Calendar {
		// Version 1, or a version 2 entry without lengths, as written
		// before version 2 said every pool's (read as version 1's).
		if len(t.Extra) > 0 || t.Window != 0 || t.Calendar {
			return errors.New("version 2's windows in version 1")
		}
		return checkReturns(t.Returns)
	}
	for i, x := range append([]snapshotWindow{{Window: t.Window, Returns: t.Returns}}, t.Extra...) {
		if x.Window <= 0 || x.Window > int64(window.MaxLength) {
			return fmt.Errorf("window %d: length %d", i, x.Window)
		}
		if err := checkReturns(x.Returns); err != nil {
			return fmt.Errorf("window %d: %w", i, err)
		}
	}
	return nil
}

// checkReturns reports the first bad entry of a window's returns.
func checkReturns(ret []snapshotSpend) error {
	for i, sp := range ret {
		if sp.Credits <= 0 || sp.Credits > window.MaxLimit || (i > 0 && sp.At <= ret[i-1].At) {
			return fmt.Errorf("bad entry %d", i)
		}
	}
	return nil
}

// restoring is a tenant of a snapshot that RestoreAt adds: built and
// charged (t), or folded into rec (t nil).
type restoring struct {
	key  string
	gen  uint64  // s.plans when plans was asked for t's plan (see replan)
	t    *tenant // nil: restored folded
	rec  string  // t's record; "" if nothing is out
	cost int64   // t's bytes
}

// recCost is what r costs folded.
func (r *restoring) recCost() int64 {
	if r.rec == "" {
		return 0
	}
	return recordCost(r.key, r.rec)
}

// planRestore builds the snapshot's tenants that the store does not hold
// and picks those restored active: all of them if they fit in the store's
// bounds, else, in the snapshot's order, as many as fit beside the others'
// records. It fails if the records alone do not fit. What it keeps stays
// within the bytes free, however large the snapshot: a tenant built past
// them is kept folded only.
func (s *Store) planRestore(now time.Time, snap *snapshot, plans store.PlanFunc) ([]restoring, error) {
	room := s.maxBytes - s.bytes.Load()
	var rs []restoring
	var active, folded int64 // the bytes of the tenants so far, all active; all folded
	for _, st := range snap.Tenants {
		if s.holds(st.Tenant) {
			continue
		}
		r := restoring{key: st.Tenant, gen: s.plans.Load()}
		t, err := s.charged(now, st, plans(st.Tenant))
		if err != nil {
			continue // as create: a plan that builds no window serves no one
		}
		r.rec, _ = encodeFold(now, t.wins.Load())
		r.cost = int64(t.cost)
		if active += r.cost; active <= room {
			r.t = t
		}
		if folded += r.recCost(); folded > room {
			return nil, fmt.Errorf("%w: more than the %d bytes free (of %d) even folded", ErrSnapshotTenants, room, s.maxBytes)
		}
		rs = append(rs, r)
	}
	free, n := room-folded, s.maxTenants-s.count.Load()
	for i := range rs {
		r := &rs[i]
		if extra := r.cost - r.recCost(); r.t == nil || extra > free || (s.maxTenants > 0 && n <= 0) {
			r.t = nil
		} else {
			free -= extra
			n--
		}
	}
	return rs, nil
}

// charged builds st's tenant with plan p, charged with st's spends still
// out at now.
func (s *Store) charged(now time.Time, st snapshotTenant, p *store.Plan) (*tenant, error) {
	_, h := s.shardOf(st.Tenant)
	t, err := s.newTenant(st.Tenant, h, p)
	if err != nil {
		return nil, err
	}
	restoreWindows(now, st, t.wins.Load()) // t is not yet published
	t.lastUsed.Store(now.UnixNano())
	return t, nil
}

// restore adds r, unless the store holds its tenant by now.
func (s *Store) restore(now time.Time, r *restoring, plans store.PlanFunc) {
	if r.t == nil && r.rec == "" {
		return // nothing out: a new tenant is the same
	}
	sh, h := s.shardOf(r.key)
	sh.mu.Lock()
	if _, folded := sh.folded[r.key]; folded || sh.get(h, r.key) != nil {
		sh.mu.Unlock()
		return
	}
	if r.t == nil {
		if sh.folded == nil {
			sh.folded = map[string]string{}
		}
		sh.folded[r.key] = r.rec
		sh.mu.Unlock()
		s.folded.Add(1)
		s.bytes.Add(r.recCost())
		return
	}
	sh.insertLocked(r.t)
	sh.mu.Unlock()
	s.count.Add(1)
	s.bytes.Add(r.cost)
	s.replan(now, r.t, r.key, plans, r.gen)
}

// restoreWindows charges w with st's spends, as a plan change carries them
// (see carryFrom): spends above a limit stay spent, and a rolling window
// takes each spend at the end of the slot it was spent in, so that it comes
// back when it would have. A window takes the spends of the saved window
// carryFrom picks, as a live plan change does: one of its length and kind
// if there is one. A version 1
// entry holds the pool's spends only, without its length: they are taken as
// of the pool's current length, and the extra windows start empty.
func restoreWindows(now time.Time, st snapshotTenant, w *windows) {
	seq := func(ret []snapshotSpend) iter.Seq2[time.Time, int64] {
		return func(yield func(time.Time, int64) bool) {
			for _, sp := range ret {
				if !yield(time.Unix(0, sp.At), sp.Credits) {
					return
				}
			}
		}
	}
	if st.Window == 0 { // version 1
		pool := w.pool()
		_, length, rolls := schedule(pool, now)
		carryInto(now, source{seq(st.Returns), length, rolls}, pool)
		return
	}
	srcs := []source{{seq(st.Returns), time.Duration(st.Window), !st.Calendar}}
	for _, x := range st.Extra {
		srcs = append(srcs, source{seq(x.Returns), time.Duration(x.Window), !x.Calendar})
	}
	carryFrom(now, srcs, w)
}

// holds reports whether the store holds tenant, active or folded.
func (s *Store) holds(tenant string) bool {
	sh, h := s.shardOf(tenant)
	if sh.get(h, tenant) != nil {
		return true
	}
	sh.mu.Lock()
	defer sh.mu.Unlock()
	_, ok := sh.folded[tenant]
	return ok || sh.get(h, tenant) != nil
}

// Tenants implements store.Lister: the keys of the tenants held, active
// then folded, shard by shard, in no order.
func (s *Store) Tenants() iter.Seq[string] {
	return func(yield func(string) bool) {
		for i := range s.shards {
			sh := &s.shards[i]
			keys := make([]string, 0, 8)
			sh.mu.Lock() // both under one hold: see SnapshotAt
			for _, t := range sh.tenants() {
				keys = append(keys, t.key)
			}
			for k := range sh.folded {
				keys = append(keys, k)
			}
			sh.mu.Unlock()
			for _, k := range keys {
				if !yield(k) {
					return
				}
			}
		}
	}
}
