package memory

import (
	"strings"
	"testing"
	"time"
)

// A store lets a tenant in while its bytes are below WithMaxBytes, so its
// records may pass the bound by the last tenant let in; RestoreAt allowed
// that for the last record of the snapshot only, but a snapshot lists its
// tenants by key, not in the order they came. Here "z" is folded (its
// record fills the store but for a byte), "a" is let in and spends in five
// slots: its record, larger, comes first in the snapshot, and "z" after it
// was refused with ErrSnapshotTenants by a store of the same bounds.
func TestRestoreLetInOutOfOrder(t *testing.T) {
	probe := New(WithSlots(12))
	spend(t, probe, foldT0, "z", 1)
	probe.Sweep(foldT0)
	maxBytes := probe.Bytes() + 1 // z's record, and a byte

	src := New(WithMaxBytes(maxBytes), WithSlots(12))
	if d := spend(t, src, foldT0, "z", 1); !d.Allowed {
		t.Fatal(d)
	}
	at := foldT0.Add(time.Second)
	for i := range 5 { // z folded to let a in, then a in five slots
		if d := spend(t, src, at.Add(time.Duration(i)*5*time.Minute), "a", 1); !d.Allowed {
			t.Fatalf("a, take %d: %+v", i, d)
		}
	}
	now := foldT0.Add(30 * time.Minute)
	if src.Len() != 1 || src.Folded() != 1 {
		t.Fatalf("%d active, %d folded", src.Len(), src.Folded())
	}
	var buf strings.Builder
	if err := src.SnapshotAt(now, &buf); err != nil {
		t.Fatal(err)
	}
	dst := New(WithMaxBytes(maxBytes), WithSlots(12))
	if err := dst.RestoreAt(now, strings.NewReader(buf.String()), foldPlans); err != nil {
		t.Fatalf("WithMaxBytes(%d), %d bytes held: %v", maxBytes, src.Bytes(), err)
	}
	for _, k := range []string{"a", "z"} {
		if a, b := src.Peek(now, k, 0, foldPlans), dst.Peek(now, k, 0, foldPlans); a.Used != b.Used {
			t.Errorf("%s: used %d after the restore, %d before", k, b.Used, a.Used)
		}
	}
}
