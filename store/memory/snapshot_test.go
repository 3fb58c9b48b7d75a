package memory

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

// snapshotOf is a snapshot of n tenants "t0".. of foldPlan, tenant i having
// spent 1+i%7 credits at foldT0, taken ten minutes later.
func snapshotOf(t *testing.T, n int) (string, time.Time) {
	t.Helper()
	src := New(WithSlots(12))
	for i := range n {
		if d := spend(t, src, foldT0, fmt.Sprint("t", i), 1+int64(i%7)); !d.Allowed {
			t.Fatal(d)
		}
	}
	at := foldT0.Add(10 * time.Minute)
	var buf strings.Builder
	if err := src.SnapshotAt(at, &buf); err != nil {
		t.Fatal(err)
	}
	return buf.String(), at
}

// checkRestored checks that each of the n tenants of snapshotOf has what it
// had, and that Bytes() gives back all it counted once every credit is back.
func checkRestored(t *testing.T, r *Store, n int, at time.Time) {
	t.Helper()
	for i := range n {
		if d := r.Peek(at, fmt.Sprint("t", i), 0, foldPlans); d.Remaining != 100-1-int64(i%7) {
			t.Fatalf("tenant %d restored with %d credits left, want %d", i, d.Remaining, 100-1-int64(i%7))
		}
	}
	r.Sweep(at.Add(3 * time.Hour))
	if r.Len() != 0 || r.Folded() != 0 || r.Bytes() != 0 {
		t.Fatalf("three hours on: %d active, %d folded, %d bytes counted", r.Len(), r.Folded(), r.Bytes())
	}
}

// A restore holds WithMaxBytes: the tenants of a snapshot that do not fit
// as active tenants are restored folded, each with what it spent. It created
// every one active: 300 tenants took 145 KiB of a 32 KiB store.
func TestRestoreBytesBound(t *testing.T) {
	const n, bound = 300, 32 << 10
	snap, at := snapshotOf(t, n)
	r := New(WithMaxBytes(bound), WithSlots(12))
	if err := r.RestoreAt(at, strings.NewReader(snap), foldPlans); err != nil {
		t.Fatal(err)
	}
	if b := r.Bytes(); b > bound {
		t.Fatalf("%d bytes held after a restore, with a bound of %d (%d active, %d folded)", b, bound, r.Len(), r.Folded())
	}
	if r.Len()+r.Folded() != n || r.Len() == 0 {
		t.Fatalf("%d active and %d folded, want some active and %d in all", r.Len(), r.Folded(), n)
	}
	if d := spend(t, r, at, "new", 1); !d.Allowed {
		t.Fatalf("a new tenant after the restore: %+v", d)
	}
	checkRestored(t, r, n, at)
}

// A snapshot taken from a store bounded in tenants lists its folded tenants
// too, so it holds more tenants than the bound: restoring it into a store
// with the same bound was refused with ErrSnapshotTenants, and the gateway
// then started with every pool full. The tenants past the bound are
// restored folded.
func TestRestoreTenantsPastBound(t *testing.T) {
	const n, bound = 40, 10
	snap, at := snapshotOf(t, n)
	r := New(WithMaxTenants(bound), WithSlots(12))
	if err := r.RestoreAt(at, strings.NewReader(snap), foldPlans); err != nil {
		t.Fatal(err)
	}
	if r.Len() != bound || r.Folded() != n-bound {
		t.Fatalf("%d active and %d folded, want %d and %d", r.Len(), r.Folded(), bound, n-bound)
	}
	checkRestored(t, r, n, at)
}

// A snapshot that does not fit even folded (a hostile or oversized one) is
// refused with ErrSnapshotTenants, and nothing is restored: restoring some
// tenants only would hand the others fresh pools.
func TestRestoreBytesRefused(t *testing.T) {
	snap, at := snapshotOf(t, 300) // about 20 KiB folded
	r := New(WithMaxBytes(4096), WithSlots(12))
	err := r.RestoreAt(at, strings.NewReader(snap), foldPlans)
	if !errors.Is(err, ErrSnapshotTenants) {
		t.Fatalf("a snapshot five times the bound: %v", err)
	}
	if r.Len() != 0 || r.Folded() != 0 || r.Bytes() != 0 {
		t.Fatalf("a refused restore left %d active, %d folded, %d bytes", r.Len(), r.Folded(), r.Bytes())
	}
}
