package limiter

import (
	"errors"
	"io"
	"time"

	"github.com/creditgate/creditgate/store"
)

// UnsupportedError says the limiter's store lacks an optional capability
// (a store.Snapshotter, say). It wraps errors.ErrUnsupported.
type UnsupportedError struct {
	Capability string // e.g. "store.Snapshotter"
}

func (e *UnsupportedError) Error() string {
	return "limiter: the store does not implement " + e.Capability
}

// Unwrap returns errors.ErrUnsupported.
func (e *UnsupportedError) Unwrap() error { return errors.ErrUnsupported }

// Snapshot writes the store's state at the current time; see SnapshotAt.
func (l *Limiter) Snapshot(w io.Writer) error { return l.SnapshotAt(time.Now(), w) }

// SnapshotAt writes, for every tenant with credits spent at now, when its
// spent credits come back, if the store is a store.Snapshotter (the
// in-memory store is); else it returns an *UnsupportedError.
func (l *Limiter) SnapshotAt(now time.Time, w io.Writer) error {
	s, ok := l.be.store().(store.Snapshotter)
	if !ok {
		return &UnsupportedError{Capability: "store.Snapshotter"}
	}
	return s.SnapshotAt(now, w)
}

// Restore reads a snapshot at the current time; see RestoreAt.
func (l *Limiter) Restore(r io.Reader) error { return l.RestoreAt(time.Now(), r) }

// RestoreAt loads a snapshot into the store (call it before serving), each
// tenant with its plan from this limiter, so that spent credits come back
// when they would have. A corrupt snapshot gives an error wrapping
// store.ErrSnapshotCorrupt and changes nothing; a store that is not a
// store.Snapshotter gives an *UnsupportedError.
func (l *Limiter) RestoreAt(now time.Time, r io.Reader) error {
	s, ok := l.be.store().(store.Snapshotter)
	if !ok {
		return &UnsupportedError{Capability: "store.Snapshotter"}
	}
	return s.RestoreAt(now, r, l.planFor)
}
