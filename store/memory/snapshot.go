package memory

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"iter"
	"slices"
	"time"

	"github.com/creditgate/creditgate/store"
	"github.com/creditgate/creditgate/window"
)

// ErrSnapshotTenants is returned (wrapped) when restoring would take the
// store past its tenant bound (WithMaxTenants): restoring only some would
// hand the others fresh pools, so none is restored.
var ErrSnapshotTenants = errors.New("memory: snapshot holds more tenants than the store may")

// SnapshotVersionError is returned by RestoreAt for a snapshot written in a
// format version this code does not read.
type SnapshotVersionError struct{ Version int }

func (e *SnapshotVersionError) Error() string {
	return fmt.Sprintf("memory: snapshot version %d not supported (want %d)", e.Version, snapshotVersion)
}

const (
	snapshotFormat  = "creditgate-limiter-snapshot"
	snapshotVersion = 1
)

// The snapshot is JSON: for each tenant with credits out, when (absolute Unix
// ns) how many credits come back to its pool. That is a window's state up
// to slot granularity and does not depend on its slot layout.
type snapshot struct {
	Format  string           `json:"format"`
	Version int              `json:"version"`
	Taken   int64            `json:"taken"`
	Tenants []snapshotTenant `json:"tenants"`
}

type snapshotTenant struct {
	Tenant  string          `json:"tenant"`
	Returns []snapshotSpend `json:"returns"`
}

type snapshotSpend struct {
	At      int64 `json:"at"` // Unix ns at which Credits come back
	Credits int64 `json:"credits"`
}

// SnapshotAt implements store.Snapshotter: for every tenant with credits
// spent at now, when its pool's spent credits come back (versioned JSON).
// In-flight slots are not saved: they do not survive the process. Extra
// (compound) windows are not saved either: they are meant to be short.
func (s *Store) SnapshotAt(now time.Time, w io.Writer) error {
	snap := snapshot{Format: snapshotFormat, Version: snapshotVersion, Taken: now.UnixNano()}
	add := func(key string, returns iter.Seq2[time.Time, int64]) {
		var ret []snapshotSpend
		for at, n := range returns {
			if at.After(now) {
				ret = append(ret, snapshotSpend{At: at.UnixNano(), Credits: n})
			}
		}
		if len(ret) > 0 {
			snap.Tenants = append(snap.Tenants, snapshotTenant{Tenant: key, Returns: ret})
		}
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
			returns, _, _ := schedule(t.wins.Load().pool(), now)
			add(t.key, returns)
		}
		for j := 0; j < len(folded); j += 2 {
			if fws := decodeFold(folded[j+1]); len(fws) > 0 {
				add(folded[j], fws[0].seq(time.UTC))
			}
		}
	}
	slices.SortFunc(snap.Tenants, func(a, b snapshotTenant) int {
		switch {
		case a.Tenant < b.Tenant:
			return -1
		case a.Tenant > b.Tenant:
			return 1
		}
		return 0
	})
	return json.NewEncoder(w).Encode(&snap)
}

// RestoreAt implements store.Snapshotter, for a store meant to be fresh (call
// it before serving): each tenant of the snapshot that the store does not
// hold yet is created with its plan and charged the credits still out at
// now, so they come back when they would have. Tenants already present are
// left alone. A corrupt, truncated or foreign snapshot (or one followed by
// anything but white space) gives an error wrapping store.ErrSnapshotCorrupt,
// another version a *SnapshotVersionError, more tenants than the store's
// bound leaves room for ErrSnapshotTenants; in each case nothing is changed.
func (s *Store) RestoreAt(now time.Time, r io.Reader, plans store.PlanFunc) error {
	snap, err := readSnapshot(r)
	if err != nil {
		return err
	}
	if s.maxTenants > 0 {
		added := int64(0)
		for _, st := range snap.Tenants {
			if !s.holds(st.Tenant) {
				added++
			}
		}
		if n := s.count.Load() + added; n > s.maxTenants {
			return fmt.Errorf("%w: %d tenants with those held, at most %d", ErrSnapshotTenants, n, s.maxTenants)
		}
	}
	for _, st := range snap.Tenants {
		s.restore(now, st, plans)
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
	if snap.Version != snapshotVersion {
		return nil, &SnapshotVersionError{Version: snap.Version}
	}
	seen := map[string]bool{}
	for _, t := range snap.Tenants {
		if seen[t.Tenant] { // "" is the default tenant (no identity): a tenant like any other
			return nil, fmt.Errorf("%w: repeated tenant %q", store.ErrSnapshotCorrupt, t.Tenant)
		}
		seen[t.Tenant] = true
		for i, sp := range t.Returns {
			if sp.Credits <= 0 || sp.Credits > window.MaxLimit || (i > 0 && sp.At <= t.Returns[i-1].At) {
				return nil, fmt.Errorf("%w: tenant %q: bad entry %d", store.ErrSnapshotCorrupt, t.Tenant, i)
			}
		}
	}
	return &snap, nil
}

func (s *Store) restore(now time.Time, st snapshotTenant, plans store.PlanFunc) {
	if s.holds(st.Tenant) {
		return
	}
	sh, h := s.shardOf(st.Tenant)
	gen := s.plans.Load() // see replan
	t, err := s.newTenant(st.Tenant, h, plans(st.Tenant))
	if err != nil {
		return
	}
	pool := t.wins.Load().pool()
	_, length, rolls := schedule(pool, now)
	// Spends above the limit stay spent, as in carryFrom: charged under the
	// largest limit, then set to the pool's (t is not yet published).
	limit := pool.Limit()
	_ = pool.SetLimit(window.MaxLimit)
	for _, sp := range st.Returns {
		back := time.Unix(0, sp.At)
		if !back.After(now) {
			continue
		}
		// Credits spent in [back-W-slot, back-W) come back at back; a
		// calendar pool, or a spend from a longer window than the current
		// plan's, is charged now.
		at := now
		if spent := back.Add(-length - 1); rolls && spent.Before(now) {
			at = spent
		}
		pool.ChargeAt(at, sp.Credits)
	}
	_ = pool.SetLimit(limit)
	t.lastUsed.Store(now.UnixNano())
	cost := int64(t.cost)
	sh.mu.Lock()
	added := false
	if _, folded := sh.folded[st.Tenant]; !folded {
		_, added = sh.insertLocked(t)
	}
	sh.mu.Unlock()
	if !added {
		return
	}
	s.count.Add(1)
	s.bytes.Add(cost)
	s.replan(now, t, st.Tenant, plans, gen)
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
