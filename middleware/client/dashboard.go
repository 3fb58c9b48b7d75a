package client

import (
	"time"

	"github.com/creditgate/creditgate/middleware"
	"github.com/creditgate/creditgate/usage"
)

// The Transport is a middleware.DashboardSource: a process serves the
// usage dashboard for its own integrations with
// middleware.DashboardOf(transport), its external spend as its own row.
var _ middleware.DashboardSource = (*Transport)(nil)

// Usage returns the statistics the Transport records into (WithUsage), nil
// if it records none.
func (t *Transport) Usage() *usage.Stats { return t.usage }

// Pool returns the pool of tenant as the Transport sees it at now: its
// limiter's view, reconciled with the server's headers.
func (t *Transport) Pool(now time.Time, tenant string) middleware.Pool {
	d := t.l.Peek(now, tenant)
	return middleware.Pool{Limit: d.Limit, Remaining: d.Remaining, Used: d.Used, Reset: d.Reset,
		Window: d.Window, Name: t.l.Plan(tenant).Name,
		Present: middleware.FieldLimit | middleware.FieldRemaining | middleware.FieldUsed | middleware.FieldReset | middleware.FieldWindow}
}
