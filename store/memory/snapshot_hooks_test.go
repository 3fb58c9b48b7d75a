//go:build creditgate_testhooks

package memory

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// Creators that each find room before any of them is counted all get in:
// a store could pass WithMaxBytes by a tenant per concurrent creator, not
// by one, and then its own snapshot was refused by a store of the same
// bounds (its records passing the bytes free by more than one). Here,
// deterministically, t0's creator lets t1's in before counting its own
// bytes, t1's t2's, and t2's t3's, in a store with room for one record and
// a byte: all four got in (2,240 bytes active in a 70-byte store) and,
// once folded, their snapshot was refused.
func TestCreatorsOvershootBound(t *testing.T) {
	probe := New(WithSlots(12))
	spend(t, probe, foldT0, "t0", 1)
	cost := probe.Bytes()
	probe.Sweep(foldT0)
	maxBytes := probe.Bytes() + 1 // a record, and a byte

	s := New(WithMaxBytes(maxBytes), WithSlots(12))
	in := map[string]bool{}
	depth := 0
	defer func() { createHook = nil }()
	createHook = func() {
		if depth < 3 {
			depth++
			k := fmt.Sprint("t", depth)
			in[k] = spend(t, s, foldT0, k, 1).Allowed
		}
	}
	in["t0"] = spend(t, s, foldT0, "t0", 1).Allowed
	createHook = nil
	if s.Bytes() > maxBytes+cost {
		t.Errorf("WithMaxBytes(%d): %d bytes held (%d tenants, %d folded), more than a tenant (%d) past the bound",
			maxBytes, s.Bytes(), s.Len(), s.Folded(), cost)
	}
	now := foldT0.Add(time.Second)
	s.Sweep(now)
	var buf strings.Builder
	if err := s.SnapshotAt(now, &buf); err != nil {
		t.Fatal(err)
	}
	dst := New(WithMaxBytes(maxBytes), WithSlots(12))
	if err := dst.RestoreAt(now, strings.NewReader(buf.String()), foldPlans); err != nil {
		t.Fatalf("WithMaxBytes(%d), %d folded, %d bytes: its snapshot does not restore into a store of the same bounds: %v",
			maxBytes, s.Folded(), s.Bytes(), err)
	}
	for k, ok := range in {
		want := int64(0)
		if ok {
			want = 1
		}
		if d := dst.Peek(now, k, 0, foldPlans); d.Used != want {
			t.Errorf("%s (let in: %v): used %d after the restore, want %d", k, ok, d.Used, want)
		}
	}
}
