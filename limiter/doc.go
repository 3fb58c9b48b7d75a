// Package limiter is the policy layer of creditgate: plans, credit costs per route,
// keyed tenants, all-or-nothing decisions, alerts and usage statistics.
package limiter
