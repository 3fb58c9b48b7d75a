package usage

import (
	"fmt"
	"strings"
	"testing"
	"time"
	"unsafe"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Helper-70: TenantName gives the name of each tenant kept under a changed
// key (not valid UTF-8, or longer than MaxKeyBytes), a copy of its own,
// and the key itself for a tenant kept under its name; two names that
// differ only in their invalid bytes, or past the kept prefix, each get
// their own. A key no tenant is kept under finds none: one never
// recorded, one folded into Other past the tenant cap, one pruned with
// its tenant, and the key of a name too long to keep beside it.
func TestTenantNameOfChangedKey(t *testing.T) {
	long := strings.Repeat("a", 299)
	huge := strings.Repeat("\xff", maxNameBytes+1)
	buf := "(" + "\xffacme" + ")" // the name is a slice of a larger string
	names := []string{buf[1 : len(buf)-1], "\xfeacme", long + "1", long + "2", "plain", huge}
	u := newStats(t, time.Hour, 10)
	for i, n := range names {
		for range i + 1 {
			record(u, t0, n, "app", "", "", "", "", 1, false)
		}
	}
	rows := u.TenantRows(t0, t0.Add(time.Hour))
	require.Len(t, rows, len(names))
	for _, r := range rows {
		want := names[r.Calls-1]
		got, ok := u.TenantName(r.Key)
		if want == huge {
			assert.Equal(t, [2]any{"", false}, [2]any{got, ok}, "the key of a name too long to keep")
			continue
		}
		assert.True(t, ok, "the key %q", r.Key)
		assert.Equal(t, want, got, "the key %q", r.Key)
		if want != "plain" {
			assert.NotEqual(t, want, r.Key, "%.8q is kept under a changed key", want)
			assert.True(t, unsafe.StringData(want) != unsafe.StringData(got), "the name of %q is the caller's string", r.Key)
		}
	}
	for _, key := range []string{tenantKey("\xfdacme"), tenantKey(long + "3"), "nobody", Other, huge} {
		name, ok := u.TenantName(key)
		assert.Equal(t, [2]any{"", false}, [2]any{name, ok}, "the key %.40q, kept by none", key)
	}

	// Past the cap a new name folds into Other, and its key finds none.
	for i := range DefaultTenants {
		record(u, t0, fmt.Sprint("t", i), "app", "", "", "", "", 1, false)
	}
	require.Len(t, u.Tenants(), DefaultTenants+1, "the cap and Other") // aggregated: the next tenant folds
	record(u, t0, "\xfcacme", "app", "", "", "", "", 1, false)
	_, ok := u.TenantName(tenantKey("\xfcacme"))
	assert.False(t, ok, "a name folded into Other")
	_, ok = u.TenantName(tenantKey("\xffacme"))
	assert.True(t, ok, "a name kept")

	// An hour past the retention, two events prune t0's tenants and their names.
	record(u, t0.Add(2*time.Hour), "plain", "app", "", "", "", "", 1, false)
	record(u, t0.Add(2*time.Hour), "plain", "other app", "", "", "", "", 1, false)
	for _, n := range names[:4] {
		_, ok := u.TenantName(tenantKey(n))
		assert.False(t, ok, "the key of %.8q, pruned", n)
	}
	name, ok := u.TenantName("plain")
	assert.Equal(t, [2]any{"plain", true}, [2]any{name, ok}, "a tenant recorded again")
}
