package gateway

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
)

func newGateway(t *testing.T, text string) *Gateway {
	t.Helper()
	g, err := New(effective(t, text), quiet(), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = g.Close(context.Background()) })
	return g
}

// spend sends n requests costing 50 credits each (a bulk read) as tenant.
func spend(t *testing.T, g *Gateway, tenant string, n int) (admitted int) {
	t.Helper()
	for range n {
		r := httptest.NewRequest(http.MethodPost, "/crm/bulk/v8/read", nil)
		r.Header.Set("X-Org", tenant)
		w := httptest.NewRecorder()
		g.ServeHTTP(w, r)
		if w.Code == http.StatusOK {
			admitted++
		}
	}
	return admitted
}

const tenantsYAML = `
upstream: %s
identity: {tenant_header: X-Org}
plan: {edition: enterprise, licences: 1}
tenants:
  acme: {edition: free}
`

func TestReloadKeepsSpending(t *testing.T) {
	up := upstream(t)
	g := newGateway(t, strings.ReplaceAll(tenantsYAML, "%s", up.URL))
	if n := spend(t, g, "acme", 200); n != 100 {
		t.Fatalf("acme admitted %d, want 100 (5,000 credits at 50)", n)
	}
	spend(t, g, "other", 10)
	// acme moves to enterprise with 10 licences, keeping its 5,000 spent.
	next := effective(t, strings.ReplaceAll(strings.ReplaceAll(tenantsYAML, "%s", up.URL),
		"{edition: free}", "{edition: enterprise, licences: 10}"))
	if err := g.Reload(next); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	if d := g.l.Peek(now, "acme"); d.Limit != 60_000 || d.Remaining != 55_000 {
		t.Fatalf("acme after reload: limit %d remaining %d, want 60,000 and 55,000", d.Limit, d.Remaining)
	}
	if d := g.l.Peek(now, "other"); d.Limit != 51_000 || d.Remaining != 50_500 {
		t.Fatalf("other after reload: limit %d remaining %d", d.Limit, d.Remaining)
	}
	// A tenant first seen after the reload gets the new plan too.
	spend(t, g, "newcomer", 1)
	if p := g.l.Plan("newcomer"); p.Credits != 51_000 {
		t.Fatalf("newcomer plan %+v", p)
	}
	// Back to free: the override set by the first reload is replaced.
	if err := g.Reload(effective(t, strings.ReplaceAll(tenantsYAML, "%s", up.URL))); err != nil {
		t.Fatal(err)
	}
	if d := g.l.Peek(now, "acme"); d.Limit != 5000 || d.Remaining != 0 {
		t.Fatalf("acme back on free: limit %d remaining %d", d.Limit, d.Remaining)
	}
	if v := testutil.ToFloat64(g.m.reloads.WithLabelValues("ok")); v != 2 {
		t.Fatalf("reloads ok = %v", v)
	}
}

func TestSnapshotRoundTrip(t *testing.T) {
	up := upstream(t)
	text := strings.ReplaceAll(tenantsYAML, "%s", up.URL)
	file := filepath.Join(t.TempDir(), "state.json")
	g := newGateway(t, text)
	spend(t, g, "acme", 3)
	spend(t, g, "", 2)
	now := time.Now()
	if err := saveSnapshot(g.l, file, now); err != nil {
		t.Fatal(err)
	}
	g2 := newGateway(t, text)
	if ok, err := restoreSnapshot(g2.l, file, now); !ok || err != nil {
		t.Fatalf("restore: %v %v", ok, err)
	}
	if d := g2.l.Peek(now, "acme"); d.Remaining != 5000-150 {
		t.Fatalf("acme remaining %d after restore", d.Remaining)
	}
	if d := g2.l.Peek(now, ""); d.Remaining != 51_000-100 {
		t.Fatalf("default tenant remaining %d after restore", d.Remaining)
	}
	matches, _ := filepath.Glob(filepath.Join(filepath.Dir(file), ".state.json.tmp-*"))
	if len(matches) != 0 {
		t.Fatalf("temporary files left: %v", matches)
	}
}

func TestSnapshotCorruptMovedAside(t *testing.T) {
	up := upstream(t)
	file := filepath.Join(t.TempDir(), "state.json")
	if err := os.WriteFile(file, []byte(`{"format":"creditgate-limiter-snapshot","version":1,"tenants":[{`), 0o600); err != nil {
		t.Fatal(err)
	}
	g := newGateway(t, strings.ReplaceAll(tenantsYAML, "%s", up.URL))
	now := time.Now()
	ok, err := restoreSnapshot(g.l, file, now)
	if ok || !errors.Is(err, errUnrestorable) {
		t.Fatalf("restore = %v, %v", ok, err)
	}
	aside := file + ".corrupt-" + strconv.FormatInt(now.Unix(), 10)
	if _, serr := os.Stat(aside); serr != nil || !strings.Contains(err.Error(), aside) {
		t.Fatalf("not moved aside to %s: %v", aside, err)
	}
	if ok, err := restoreSnapshot(g.l, file, now); ok || err != nil {
		t.Fatalf("second restore (no file) = %v, %v", ok, err)
	}
	if n := spend(t, g, "acme", 1); n != 1 {
		t.Fatal("the gateway does not serve after a corrupt snapshot")
	}
}

func TestTenantMetricsTopN(t *testing.T) {
	up := upstream(t)
	g := newGateway(t, strings.ReplaceAll(tenantsYAML, "%s", up.URL)+"metrics: {top_tenants: 2}\n")
	for i, tenant := range []string{"a", "b", "c", "d"} {
		spend(t, g, tenant, i+1)
	}
	got := testutil.CollectAndCount(newTenantCollector(g.l, g.st, 2))
	if got != 9 { // 3 series for d, c and other
		t.Fatalf("series = %d, want 9", got)
	}
	want := `
# HELP creditgate_tenant_credits_used Credits spent in the tenant's current window (top tenants by use; the rest summed as tenant="other").
# TYPE creditgate_tenant_credits_used gauge
creditgate_tenant_credits_used{tenant="c"} 150
creditgate_tenant_credits_used{tenant="d"} 200
creditgate_tenant_credits_used{tenant="other"} 150
`
	if err := testutil.CollectAndCompare(newTenantCollector(g.l, g.st, 2), strings.NewReader(want), "creditgate_tenant_credits_used"); err != nil {
		t.Fatal(err)
	}
}

// A tenant key past limits.max_key_bytes is refused with 400 before the
// limiter sees it, and counted as invalid by reason.
func TestLongKeyRefused(t *testing.T) {
	up := upstream(t)
	g := newGateway(t, strings.ReplaceAll(tenantsYAML, "%s", up.URL)+"limits: {max_key_bytes: 64}\n")
	if n := spend(t, g, strings.Repeat("t", 65), 1); n != 0 {
		t.Fatal("a 65-byte tenant key was admitted")
	}
	if n := spend(t, g, strings.Repeat("t", 64), 1); n != 1 {
		t.Fatal("a 64-byte tenant key was refused")
	}
	want := `
# HELP creditgate_requests_invalid_total Requests refused with 400 or 413, by reason: cost (the body could not be priced), key (a tenant or application key longer than limits.max_key_bytes).
# TYPE creditgate_requests_invalid_total counter
creditgate_requests_invalid_total{reason="cost"} 0
creditgate_requests_invalid_total{reason="key"} 1
`
	if err := testutil.GatherAndCompare(g.m.reg, strings.NewReader(want), "creditgate_requests_invalid_total"); err != nil {
		t.Fatal(err)
	}
}

// A tenant that calls itself "other" (the header is the client's) must not
// share the label value the rest are summed under: two series with the same
// labels fail the whole scrape.
func TestTenantNamedOther(t *testing.T) {
	up := upstream(t)
	g := newGateway(t, strings.ReplaceAll(tenantsYAML, "%s", up.URL)+"metrics: {top_tenants: 1}\n")
	spend(t, g, "other", 3)
	spend(t, g, "b", 1)
	spend(t, g, "c", 1)
	if _, err := g.m.reg.Gather(); err != nil {
		t.Fatalf("scrape failed: %v", err)
	}
	if n := testutil.CollectAndCount(newTenantCollector(g.l, g.st, 1), "creditgate_tenant_credits_used"); n != 2 {
		t.Fatalf("used series = %d, want 2 (the tenant called other, and the rest)", n)
	}
}

// A tenant named what a long name's label value is (the hash suffix is
// public: a hash of the name) must not take that series from it: two
// series with the same labels fail the whole scrape.
func TestTenantNamedLikeAFoldedName(t *testing.T) {
	up := upstream(t)
	g := newGateway(t, strings.ReplaceAll(tenantsYAML, "%s", up.URL))
	long := strings.Repeat("x", 200)
	spend(t, g, long, 1)
	spend(t, g, labelValue(long), 2)
	if _, err := g.m.reg.Gather(); err != nil {
		t.Fatalf("scrape failed: %v", err)
	}
}
