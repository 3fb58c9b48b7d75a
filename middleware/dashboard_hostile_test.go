package middleware

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/creditgate/creditgate/usage"
)

// A tenant token reads its own tenant only. A tenant whose name is
// usage.Other shares its statistics with every tenant folded past the
// tenant cap (usage.DefaultTenants): its token must not read their
// applications, users and IPs.
func TestDashboardTenantOtherReadsNoFoldedTenant(t *testing.T) {
	e := newEnv(t, testPlan(20, 5, 5), okHandler())
	for i := range usage.DefaultTenants {
		e.usage.Record(usage.Event{At: t0, Tenant: fmt.Sprint("t", i), App: "app", Credits: 1})
	}
	require.Len(t, e.usage.Tenants(), usage.DefaultTenants) // aggregated: the next tenant folds
	e.usage.Record(usage.Event{At: t0, Tenant: "secret-corp", App: "secret-app", User: "ceo@secret-corp", IP: "198.51.100.7", Credits: 1})
	d := Dashboard(e.l, atHalfPast(), WithTenantToken(usage.Other, "other-tok"))
	bearer := []string{"Authorization", "Bearer other-tok"}
	for _, target := range []string{"/api/top?dim=app", "/api/top?dim=user", "/api/top?dim=ip",
		"/api/top?dim=user&app=secret-app", "/api/top?dim=app&format=csv", "/api/period", "/api/period?app=secret-app"} {
		rec := dashGet(t, d, target, bearer...)
		body := rec.Body.String()
		assert.NotContains(t, body, "secret", "%s: a tenant named other reads a folded tenant's usage", target)
		if rec.Code == http.StatusOK && strings.HasPrefix(target, "/api/period") {
			p := getJSON[periodJSON](t, d, target, bearer...)
			assert.Zero(t, p.Calls, "%s: the folded tenants' calls", target)
		}
	}
	// Its pool is its own.
	assert.Equal(t, usage.Other, getJSON[summaryJSON](t, d, "/api/summary", bearer...).Tenant)
	// The operator still reads Other's usage.
	op := Dashboard(e.l, atHalfPast())
	top := getJSON[topJSON](t, op, "/api/top?dim=app&tenant=other")
	require.NotEmpty(t, top.Items)
	assert.Equal(t, "secret-app", top.Items[0].Key)
}
