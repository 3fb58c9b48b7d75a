package memory

import (
	"errors"
	"strings"
	"testing"

	"github.com/creditgate/creditgate/store"
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

// tenant_bytes (version 3) holds only a key that is not UTF-8, so that
// each key has one spelling and a repeated one is seen; and only in
// version 3, which a snapshot says only when it holds such a key.
func TestSnapshotTenantBytes(t *testing.T) {
	head := `{"format":"creditgate-limiter-snapshot","version":3,"taken":1772366400000000000,"tenants":[`
	ret := `"returns":[{"at":1772370300000000000,"credits":5}],"window":3600000000000}`
	for _, c := range []struct {
		name, snap string
		ok         bool
	}{
		{"not UTF-8", head + `{"tenant_bytes":"/w==",` + ret + `]}`, true},
		{"version 2", strings.Replace(head, `"version":3`, `"version":2`, 1) + `{"tenant_bytes":"/w==",` + ret + `]}`, false},
		{"UTF-8", head + `{"tenant_bytes":"YQ==",` + ret + `]}`, false},
		{"empty", head + `{"tenant_bytes":"",` + ret + `]}`, false},
		{"beside tenant", head + `{"tenant":"a","tenant_bytes":"/w==",` + ret + `]}`, false},
		{"repeated", head + `{"tenant_bytes":"/w==",` + ret + `,{"tenant_bytes":"/w==",` + ret + `]}`, false},
	} {
		r := New(WithSlots(12))
		err := r.RestoreAt(foldT0, strings.NewReader(c.snap), foldPlans)
		if c.ok != (err == nil) || err != nil && !errors.Is(err, store.ErrSnapshotCorrupt) {
			t.Errorf("%s: %v", c.name, err)
		}
		if d := r.Peek(foldT0, "\xff", 0, foldPlans); c.ok != (d.Remaining == 95) {
			t.Errorf("%s: %d credits left", c.name, d.Remaining)
		}
	}
	var buf strings.Builder
	src := New(WithSlots(12))
	spend(t, src, foldT0, "\xff", 5)
	if err := src.SnapshotAt(foldT0, &buf); err != nil || !strings.Contains(buf.String(), `"version":3,`) || !strings.Contains(buf.String(), `{"tenant":"","tenant_bytes":"/w==",`) {
		t.Errorf("a snapshot of \"\\xff\": %s, %v", buf.String(), err)
	}
}
