package memory

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/creditgate/creditgate/store"
)

// A store's own snapshot (version 3: a key that is not UTF-8; keys that
// differ only in case or need escapes; compound and calendar plans; the
// slot cache; some tenants folded) restores into a store of the same
// bounds with every spend, and each of its prefixes is refused as corrupt
// (never a panic), changing nothing. Holds.
func TestRestoreOwnSnapshotTruncated(t *testing.T) {
	utc := &store.Calendar{Location: time.UTC}
	rolling := store.Plan{Name: "r", Credits: 100, Window: time.Hour, Concurrency: 2}
	compound := store.Plan{Name: "c", Credits: 100, Window: time.Hour, Concurrency: 2,
		Extra: []store.WindowLimit{{Credits: 150, Window: 24 * time.Hour, Calendar: utc}, {Credits: 1000, Window: 10 * time.Minute}}}
	calendar := store.Plan{Name: "d", Credits: 100, Window: 24 * time.Hour, Concurrency: 2, Calendar: utc}
	plans := func(k string) *store.Plan {
		switch {
		case strings.HasPrefix(k, "c"):
			return &compound
		case strings.HasPrefix(k, "d"):
			return &calendar
		}
		return &rolling
	}
	keys := []string{"a", "A", "c\xff\xfe", "cX", "d<>&\u2028\x01", "d\xc3", "", "b"}
	opts := []Option{WithSlots(12), WithSlotCache(), WithMaxBytes(6 << 10)}
	src := New(opts...)
	for i, k := range keys {
		var l Lease
		var d store.Decision
		src.Take(foldT0.Add(time.Duration(i)*time.Minute), &store.Request{Tenant: k, App: "x", Credits: int64(i + 1)}, plans, &l, &d)
		if !d.Allowed {
			t.Fatalf("%q: %+v", k, d)
		}
		src.Release(&l)
	}
	now := foldT0.Add(20 * time.Minute)
	if src.Folded() == 0 || src.Len() == 0 {
		t.Fatalf("%d active, %d folded: want both", src.Len(), src.Folded())
	}
	var buf strings.Builder
	if err := src.SnapshotAt(now, &buf); err != nil {
		t.Fatal(err)
	}
	snap := buf.String()
	if !strings.Contains(snap, `"version":3`) {
		t.Fatalf("not version 3: %s", snap)
	}
	dst := New(opts...)
	if err := dst.RestoreAt(now, strings.NewReader(snap), plans); err != nil {
		t.Fatal(err)
	}
	for _, k := range keys {
		if got, want := dst.Peek(now, k, 0, plans), src.Peek(now, k, 0, plans); got.Used != want.Used || got.Remaining != want.Remaining {
			t.Errorf("%q: restored %+v, had %+v", k, got, want)
		}
	}
	for n := range len(snap) - 1 { // the last byte is a newline
		s := New(opts...)
		if d := spend(t, s, now, "held", 7); !d.Allowed {
			t.Fatal(d)
		}
		active, folded, bytes := s.Len(), s.Folded(), s.Bytes()
		if err := s.RestoreAt(now, strings.NewReader(snap[:n]), plans); !errors.Is(err, store.ErrSnapshotCorrupt) {
			t.Fatalf("the first %d bytes of %d: %v", n, len(snap), err)
		}
		if s.Len() != active || s.Folded() != folded || s.Bytes() != bytes {
			t.Fatalf("the first %d bytes: %d active, %d folded, %d bytes; before %d, %d, %d", n, s.Len(), s.Folded(), s.Bytes(), active, folded, bytes)
		}
	}
}
