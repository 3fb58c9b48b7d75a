// Package memory is the in-process store.Store: every tenant's credit
// windows and concurrency slots in memory, lock-free on the admission path,
// bounded in bytes. It is what a limiter uses unless told otherwise; give a
// limiter one of your own to set its bounds:
//
//	l, err := limiter.New(plan, limiter.WithStore(memory.New(memory.WithMaxTenants(50_000))))
package memory
