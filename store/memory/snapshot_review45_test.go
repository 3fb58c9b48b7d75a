package memory

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/creditgate/creditgate/store"
)

// A store's own snapshot must restore into a store of the same bounds. The
// read bound (8 bytes of snapshot per byte of WithMaxBytes, and 64 KiB)
// assumed at most about 5.5 bytes of JSON per byte held, measured with
// 5-minute slots. A folded record stores each return as a varint delta from
// the one before: with slots of a millisecond that is 3 bytes, and 1 for
// the credits, while the JSON spells each return {"at":<19 digits>,
// "credits":1}, about 40 bytes: near ten bytes of snapshot per byte held.
// Here, a store of folded tenants that each spent in 900 slots of a
// one-second window of 1,000 slots (filled by taking in each slot, the
// ratio is 9.6; filled here by restores of parts of it, for speed).
func TestRestoreFineSlotsSnapshot(t *testing.T) {
	const maxBytes = 256 << 10
	plan := store.Plan{Name: "s", Credits: 100000, Window: time.Second, Concurrency: 2}
	plans := func(string) *store.Plan { return &plan }
	opts := []Option{WithMaxBytes(maxBytes), WithSlots(1000)}
	src := New(opts...)
	now := foldT0
	const parts, perPart, takes = 8, 8, 900
	for p := range parts {
		var b strings.Builder
		fmt.Fprintf(&b, `{"format":%q,"version":2,"taken":%d,"tenants":[`, snapshotFormat, now.UnixNano())
		for i := range perPart {
			if i > 0 {
				b.WriteByte(',')
			}
			fmt.Fprintf(&b, `{"tenant":"t%d","window":%d,"returns":[`, p*perPart+i, int64(time.Second))
			for k := range takes {
				if k > 0 {
					b.WriteByte(',')
				}
				fmt.Fprintf(&b, `{"at":%d,"credits":1}`, now.Add(time.Duration(k+1)*time.Millisecond).UnixNano())
			}
			b.WriteString("]}")
		}
		b.WriteString("]}")
		if err := src.RestoreAt(now, strings.NewReader(b.String()), plans); err != nil {
			t.Fatalf("part %d: %v", p, err)
		}
		src.Sweep(now)
	}
	if src.Folded() != parts*perPart || src.Bytes() > maxBytes {
		t.Fatalf("%d active, %d folded, %d bytes held", src.Len(), src.Folded(), src.Bytes())
	}
	var buf strings.Builder
	if err := src.SnapshotAt(now, &buf); err != nil {
		t.Fatal(err)
	}
	dst := New(opts...)
	if err := dst.RestoreAt(now, strings.NewReader(buf.String()), plans); err != nil {
		t.Fatalf("a snapshot of %d bytes (%.1f per byte held) from a store of %d bytes of %d: %v",
			buf.Len(), float64(buf.Len())/float64(src.Bytes()), src.Bytes(), maxBytes, err)
	}
	for i := range parts * perPart {
		if d := dst.Peek(now, fmt.Sprint("t", i), 0, plans); d.Used != takes {
			t.Fatalf("t%d: used %d after the restore, want %d", i, d.Used, takes)
		}
	}
}
