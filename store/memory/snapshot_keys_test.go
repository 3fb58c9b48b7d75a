package memory

import (
	"strings"
	"testing"
)

// Tenant keys are bytes, and one from a header or a path need not be UTF-8,
// but JSON strings are: encoding/json wrote every invalid byte as U+FFFD.
// A tenant "\xff" came back as "\ufffd", its spending lost (its pool full
// again after a restart); two such tenants ("\xff", "\xfe") came back as
// one repeated tenant, and the whole snapshot was refused as corrupt, so a
// caller able to pick two keys could have every pool refilled at the next
// restart. Keys that are valid UTF-8 but differ only in case or Unicode
// normalisation are different tenants to the store, and stay so.
func TestSnapshotKeysNotUTF8(t *testing.T) {
	for _, keys := range [][]spentKey{
		{{"\xff", 10}},
		{{"\xff", 10}, {"\xfe", 20}, {"\ufffd", 30}, {"a\xc3", 40}, {"A", 1}, {"a", 2}, {"\u00e9", 3}, {"e\u0301", 4}, {"", 5}},
	} {
		restoreKeys(t, keys)
	}
}

type spentKey struct {
	key   string
	spent int64
}

// restoreKeys checks that a snapshot of keys, each having spent its
// credits, restores each with what it spent.
func restoreKeys(t *testing.T, keys []spentKey) {
	t.Helper()
	src := New(WithSlots(12))
	for _, k := range keys {
		if d := spend(t, src, foldT0, k.key, k.spent); !d.Allowed {
			t.Fatal(d)
		}
	}
	var buf strings.Builder
	if err := src.SnapshotAt(foldT0, &buf); err != nil {
		t.Fatal(err)
	}
	r := New(WithSlots(12))
	if err := r.RestoreAt(foldT0, strings.NewReader(buf.String()), foldPlans); err != nil {
		t.Fatalf("restoring %s: %v", buf.String(), err)
	}
	for _, k := range keys {
		if d := r.Peek(foldT0, k.key, 0, foldPlans); d.Remaining != 100-k.spent {
			t.Errorf("tenant %q restored with %d credits left, want %d", k.key, d.Remaining, 100-k.spent)
		}
	}
	if r.Len() != len(keys) {
		t.Errorf("%d tenants restored, want %d", r.Len(), len(keys))
	}
}
