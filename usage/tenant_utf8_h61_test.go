package usage

import (
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// Helper-61: tenants whose names differ only in invalid bytes, or past the
// kept prefix, or are the valid spelling JSON shows for them, keep rows of
// their own, and each is found again by its name and by its row's key.
func TestUsageInvalidTenantsApart(t *testing.T) {
	long := strings.Repeat("\xff", 300)
	names := []string{"a\xffb", "a\xfeb", "a\uFFFDb", "a\xff\xfeb", long + "1", long + "2", "\xff"}
	u := newStats(t, 48*time.Hour, 10)
	for i, n := range names {
		for range i + 1 {
			record(u, t0, n, "app", "", "", "", "", 1, false)
		}
	}
	rows := u.TenantRows(t0, t0.Add(time.Hour))
	if len(rows) != len(names) {
		t.Fatalf("%d rows for %d tenants: %+v", len(rows), len(names), rows)
	}
	byKey := map[string]int64{}
	for _, r := range rows {
		if !utf8.ValidString(r.Key) || len(r.Key) > MaxKeyBytes {
			t.Errorf("row key %q: not valid UTF-8 or too long", r.Key)
		}
		byKey[r.Key] = r.Calls
	}
	for i, n := range names {
		want := int64(i + 1)
		if got := u.Rows(n, App, t0, t0.Add(time.Hour), 5); len(got) != 1 || got[0].Calls != want {
			t.Errorf("tenant %q: %+v, want %d calls", n, got, want)
		}
	}
	for k, calls := range byKey {
		if got := u.Rows(k, App, t0, t0.Add(time.Hour), 5); len(got) != 1 || got[0].Calls != calls {
			t.Errorf("row key %q: %+v, want %d calls", k, got, calls)
		}
	}
}
