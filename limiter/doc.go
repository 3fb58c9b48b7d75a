// Package limiter is the policy layer of creditgate: plans, credit costs per route,
// keyed tenants, all-or-nothing decisions, alerts and usage statistics.
//
// A [Plan] says a tenant's credit pool (a rolling window), its concurrency cap
// per application and its sub-concurrency caps per API class (package cost
// prices requests by route).
// [Limiter.Acquire] admits a request all or nothing and returns a [Ticket]
// whose Release gives the slots back and whose Settle turns the reserved
// cost into the real one. State lives in a [Store]: [MemoryStore] by default,
// bounded and snapshotable; package storetest checks other implementations.
package limiter
