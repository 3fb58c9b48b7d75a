package gateway

import (
	"context"
	"strings"
	"testing"
)

// limits need a restart, so a reload keeps the running max_key_bytes (see
// TestReloadLimitsNeedARestart). A reload whose file raises max_key_bytes
// had its tenant names checked against the file's new value, not the
// running one: a tenant longer than the running limit was accepted,
// though every request naming it gets 400 until a restart. The reload is
// refused, the error naming the tenant's line and both values, and the
// running plans are kept.
func TestReloadTenantNameOverRunningMaxKeyBytes(t *testing.T) {
	up := upstream(t)
	base := "upstream: " + up.URL + "\ncosts: {profile: none, default: 1}\nidentity: {tenant_header: X-Org, trusted_proxies: [10.0.0.0/8]}\n"
	g, err := New(effective(t, base), quiet(), nil) // max_key_bytes: the default 256
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = g.Close(context.Background()) })
	long := strings.Repeat("t", 300)
	err = g.Reload(effective(t, base+"limits: {max_key_bytes: 512}\ntenants:\n  "+long+": {edition: free}\n"))
	if err == nil {
		t.Fatalf("a tenant of %d bytes accepted while the running max_key_bytes is 256: no request can name it", len(long))
	}
	for _, want := range []string{"test.yaml:6:3: tenants.", "256", "512"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("the error does not say %q: %v", want, err)
		}
	}
	if _, ok := g.eff.Load().Tenants[long]; ok {
		t.Error("refused, but the file's tenants are in force")
	}
	// Names that fit the running limit reload, whatever the file says.
	short := strings.Repeat("s", 200)
	if err := g.Reload(effective(t, base+"limits: {max_key_bytes: 512}\ntenants:\n  "+short+": {edition: free}\n")); err != nil {
		t.Errorf("a tenant of %d bytes under the running 256 refused: %v", len(short), err)
	}
}
