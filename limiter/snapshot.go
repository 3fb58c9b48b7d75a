package limiter

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"time"

	"github.com/creditgate/creditgate/window"
)

// Snapshot errors. A failed Restore changes nothing: the limiter stays usable
// with fresh pools.
var (
	ErrSnapshotCorrupt = errors.New("limiter: corrupt snapshot")
	ErrNoSnapshot      = errors.New("limiter: store does not support snapshots")
	// ErrSnapshotTenants is returned (wrapped) when restoring would take
	// the store past its tenant bound (WithMaxTenants): restoring only some
	// would hand the others fresh pools, so none is restored.
	ErrSnapshotTenants = errors.New("limiter: snapshot holds more tenants than the store may")
)

// SnapshotVersionError is returned by Restore for a snapshot written in a
// format version this code does not read.
type SnapshotVersionError struct{ Version int }

func (e *SnapshotVersionError) Error() string {
	return fmt.Sprintf("limiter: snapshot version %d not supported (want %d)", e.Version, snapshotVersion)
}

const (
	snapshotFormat  = "creditgate-limiter-snapshot"
	snapshotVersion = 1
)

// The snapshot is JSON: for each tenant with credits out, when (absolute Unix
// ns) how many credits come back to its pool. That is the rolling window's
// state up to slot granularity and does not depend on its slot layout.
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

// Snapshot writes the in-memory state at the current time; see SnapshotAt.
func (l *Limiter) Snapshot(w io.Writer) error { return l.SnapshotAt(time.Now(), w) }

// SnapshotAt writes, for every tenant with credits spent at now, when its
// spent credits come back (versioned JSON). In-flight slots are not saved:
// they do not survive the process. Extra (compound) windows are not saved
// either: they are meant to be short.
func (l *Limiter) SnapshotAt(now time.Time, w io.Writer) error {
	ms := l.mem
	if ms == nil {
		return ErrNoSnapshot
	}
	snap := snapshot{Format: snapshotFormat, Version: snapshotVersion, Taken: now.UnixNano()}
	for i := range ms.shards {
		for _, t := range ms.shards[i].tenants() {
			if ret := returns(now, t.wins.Load().rolling); len(ret) > 0 {
				snap.Tenants = append(snap.Tenants, snapshotTenant{Tenant: t.key, Returns: ret})
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

// returns is w's schedule of returning credits at now (see
// window.Rolling.Returns: all that is spent, also beyond a lowered limit).
func returns(now time.Time, w *window.Rolling) []snapshotSpend {
	var out []snapshotSpend
	for at, n := range w.Returns(now) {
		out = append(out, snapshotSpend{At: at.UnixNano(), Credits: n})
	}
	return out
}

// Restore reads a snapshot at the current time; see RestoreAt.
func (l *Limiter) Restore(r io.Reader) error { return l.RestoreAt(time.Now(), r) }

// RestoreAt loads a snapshot into a store meant to be fresh (call it before
// serving): each tenant of the snapshot that the store does not hold yet is
// created with its current plan and charged the credits still out at now, so
// they come back when they would have. Tenants already present are left
// alone. A corrupt, truncated or foreign snapshot (or one followed by
// anything but white space) gives an error wrapping ErrSnapshotCorrupt,
// another version a *SnapshotVersionError, more tenants than the store's
// bound leaves room for ErrSnapshotTenants; in each case nothing is changed.
func (l *Limiter) RestoreAt(now time.Time, r io.Reader) error {
	ms := l.mem
	if ms == nil {
		return ErrNoSnapshot
	}
	var snap snapshot
	dec := json.NewDecoder(r)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&snap); err != nil {
		return fmt.Errorf("%w: %v", ErrSnapshotCorrupt, err)
	}
	if _, err := dec.Token(); err != io.EOF { // a second value, or the start of one
		return fmt.Errorf("%w: data after the snapshot", ErrSnapshotCorrupt)
	}
	if snap.Format != snapshotFormat {
		return fmt.Errorf("%w: format %q", ErrSnapshotCorrupt, snap.Format)
	}
	if snap.Version != snapshotVersion {
		return &SnapshotVersionError{Version: snap.Version}
	}
	seen := map[string]bool{}
	for _, t := range snap.Tenants {
		if seen[t.Tenant] { // "" is the default tenant (no identity): a tenant like any other
			return fmt.Errorf("%w: repeated tenant %q", ErrSnapshotCorrupt, t.Tenant)
		}
		seen[t.Tenant] = true
		for i, s := range t.Returns {
			if s.Credits <= 0 || s.Credits > window.MaxLimit || (i > 0 && s.At <= t.Returns[i-1].At) {
				return fmt.Errorf("%w: tenant %q: bad entry %d", ErrSnapshotCorrupt, t.Tenant, i)
			}
		}
	}
	if ms.maxTenants > 0 {
		added := int64(0)
		for _, st := range snap.Tenants {
			if sh, h := ms.shard(st.Tenant); sh.get(h, st.Tenant) == nil {
				added++
			}
		}
		if n := ms.count.Load() + added; n > ms.maxTenants {
			return fmt.Errorf("%w: %d tenants with those held, at most %d", ErrSnapshotTenants, n, ms.maxTenants)
		}
	}
	for _, st := range snap.Tenants {
		ms.restore(now, st, l.planFor)
	}
	return nil
}

func (s *MemoryStore) restore(now time.Time, st snapshotTenant, planFor func(string) *Plan) {
	sh, h := s.shard(st.Tenant)
	if sh.get(h, st.Tenant) != nil {
		return
	}
	t, err := s.newTenant(st.Tenant, h, planFor(st.Tenant))
	if err != nil {
		return
	}
	w := t.wins.Load()
	for _, sp := range st.Returns {
		back := time.Unix(0, sp.At)
		if !back.After(now) {
			continue
		}
		// Credits spent in [back-W-slot, back-W) come back at back.
		spent := back.Add(-w.length() - 1)
		if spent.After(now) { // from a longer window than the current plan's
			spent = now
		}
		// ChargeAt, not TryAcquireAt: a plan that shrank takes what fits.
		w.rolling.ChargeAt(spent, sp.Credits)
	}
	t.lastUsed.Store(now.UnixNano())
	if _, added := sh.insert(t); added {
		s.count.Add(1)
	}
}
