// Package store is the contract between the limiter and the places a
// tenant's state lives: its credit pool, its concurrency slots and its plan.
//
// A [Store] serves one decision as one atomic step: [Store.Take] admits a
// [Request] all or nothing and fills a [Decision] and a lease in place;
// [Store.Release] gives the lease's slots back; [Store.Settle] turns the
// reserved credits into the real cost; [Store.Charge] books spending made
// elsewhere; [Store.Peek] reads without changing anything. Every step reports
// what it changed and what the pool held just after (Decision.Cost and
// Decision.Used), read in the same step, so that callers can tell exactly
// which step crossed an alert threshold, over any store.
//
// Package store/memory is the default, in-process store; store/redis (its
// own module) shares one state between processes; limiter/storetest is the
// conformance suite every store passes. Optional capabilities
// ([Snapshotter], [Lister]) are found by type assertion.
package store
