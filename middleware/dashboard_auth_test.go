package middleware

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/creditgate/creditgate/usage"
)

func TestDashboardToken(t *testing.T) {
	e := newEnv(t, testPlan(20, 5, 5), okHandler())
	d := Dashboard(e.l, WithToken("s3cret"))
	assert.Equal(t, http.StatusUnauthorized, dashGet(t, d, "/d/api/summary").Code)
	assert.Equal(t, http.StatusUnauthorized, dashGet(t, d, "/d/api/summary", "Authorization", "Bearer s3cre").Code)
	assert.Equal(t, http.StatusUnauthorized, dashGet(t, d, "/d/api/summary?token=s3cret0").Code)
	assert.Equal(t, http.StatusOK, dashGet(t, d, "/d/api/summary", "Authorization", "Bearer s3cret").Code)
	assert.Equal(t, http.StatusOK, dashGet(t, d, "/d/api/summary?token=s3cret").Code, "a CSV link's token")
	// The page holds no data: it is served without a token, and asks for one.
	assert.Equal(t, http.StatusOK, dashGet(t, d, "/d/").Code)
	assert.Equal(t, http.StatusNotFound, dashGet(t, d, "/d/nothing").Code)
	// The auth scheme is case-insensitive, and one or more spaces follow it
	// (RFC 9110, section 11.4).
	for _, auth := range []string{"bearer s3cret", "BEARER s3cret", "bEaReR  s3cret"} {
		assert.Equal(t, http.StatusOK, dashGet(t, d, "/d/api/summary", "Authorization", auth).Code, auth)
	}
	for _, auth := range []string{"Basic s3cret", "Bearers3cret", "Bearer", "s3cret", "Bearer s3cret x"} {
		assert.Equal(t, http.StatusUnauthorized, dashGet(t, d, "/d/api/summary", "Authorization", auth).Code, auth)
	}
	// An empty token (an unset variable) locks the dashboard rather than open it.
	locked := Dashboard(e.l, WithToken(""))
	for _, target := range []string{"/d/api/me", "/d/api/summary", "/d/api/summary?token=", "/d/api/top?dim=app&token="} {
		assert.Equal(t, http.StatusUnauthorized, dashGet(t, locked, target).Code, "empty token: locked")
	}
	assert.Equal(t, http.StatusUnauthorized, dashGet(t, locked, "/d/api/summary", "Authorization", "Bearer ").Code, "empty token: locked")
	assert.Equal(t, http.StatusOK, dashGet(t, Dashboard(e.l, WithToken(""), WithToken("s3cret")), "/d/api/me?token=s3cret").Code, "a later token wins")
	assert.Equal(t, http.StatusOK, dashGet(t, Dashboard(e.l), "/d/api/me").Code, "no WithToken: open")
	assert.Panics(t, func() { Dashboard(nil) })
}

// An operator token reads every tenant and the list of tenants; a tenant
// token reads its own tenant only (issue #20 item 4).
func TestDashboardTenantTokens(t *testing.T) {
	e := dashEnv(t) // tenant ""
	e.usage.Record(usage.Event{At: t0, Tenant: "acme", App: "acme-sync", Credits: 1})
	d := Dashboard(e.l, atHalfPast(), WithToken("op"), WithTenantToken("acme", "acme-tok"), WithTenantToken("", "root-tok"),
		WithTenantTokens(func(tok string) (string, bool) {
			require.NotEmpty(t, tok, "never asked for an empty token")
			return "globex", tok == "globex-tok"
		}), WithTenantToken("nobody", ""))
	bearer := func(tok string) []string { return []string{"Authorization", "Bearer " + tok} }

	me := getJSON[meJSON](t, d, "/api/me", bearer("op")...)
	assert.Equal(t, "operator", me.Role)
	ts := getJSON[tenantsJSON](t, d, "/api/tenants", bearer("op")...)
	assert.Equal(t, []string{"", "acme"}, ts.Tenants)
	assert.Equal(t, []countJSON{{Key: "", Kind: "none", Credits: 20, Calls: 8, Refused: 1}, {Key: "acme", Credits: 1, Calls: 1}}, ts.Items)
	assert.Equal(t, "acme-sync", getJSON[topJSON](t, d, "/api/top?dim=app&tenant=acme", bearer("op")...).Items[0].Key)

	me = getJSON[meJSON](t, d, "/api/me?token=acme-tok")
	assert.Equal(t, meJSON{Role: "tenant", Tenant: "acme"}, meJSON{Role: me.Role, Tenant: me.Tenant})
	top := getJSON[topJSON](t, d, "/api/top?dim=app", bearer("acme-tok")...)
	assert.Equal(t, []countJSON{{Key: "acme-sync", Credits: 1, Calls: 1}}, top.Items, "no ?tenant=: its own")
	assert.Equal(t, "acme", getJSON[summaryJSON](t, d, "/api/summary?tenant=acme", bearer("acme-tok")...).Tenant)
	for _, target := range []string{"/api/summary?tenant=", "/api/top?dim=app&tenant=globex", "/api/period?tenant=x",
		"/api/alerts?tenant=", "/api/tenants"} {
		rec := dashGet(t, d, target, bearer("acme-tok")...)
		assert.Equal(t, http.StatusForbidden, rec.Code, target)
		decodeBody(t, rec)
	}
	assert.Equal(t, "", getJSON[summaryJSON](t, d, "/api/summary", bearer("root-tok")...).Tenant, "the default tenant's token")
	assert.Equal(t, http.StatusForbidden, dashGet(t, d, "/api/summary?tenant=acme", bearer("root-tok")...).Code)
	assert.Equal(t, "globex", getJSON[meJSON](t, d, "/api/me", bearer("globex-tok")...).Tenant, "WithTenantTokens")
	assert.Equal(t, http.StatusUnauthorized, dashGet(t, d, "/api/me", bearer("nope")...).Code)
	assert.Equal(t, http.StatusUnauthorized, dashGet(t, d, "/api/me?token=").Code, "an empty tenant token opens nothing")

	// Tenant tokens alone lock the operator's view.
	only := Dashboard(e.l, WithTenantToken("acme", "acme-tok"))
	assert.Equal(t, http.StatusUnauthorized, dashGet(t, only, "/api/me").Code)
	assert.Equal(t, http.StatusOK, dashGet(t, only, "/api/me?token=acme-tok").Code)
	// WithToken("") locks the operator's view, not the tenants'.
	locked := Dashboard(e.l, WithToken(""), WithTenantToken("acme", "acme-tok"))
	assert.Equal(t, "tenant", getJSON[meJSON](t, locked, "/api/me?token=acme-tok").Role)
}
