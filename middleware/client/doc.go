// Package client governs outbound calls to a credit-metered API: a
// [Transport] (an http.RoundTripper) keeps every integration of a process,
// or of a fleet sharing one store, inside one shared credit pool.
//
// Each request belongs to a named integration ([WithIntegration] on its
// context, or the default one). Before a request is sent, the Transport
// prices it with the same cost table the server uses and takes, all or
// nothing, an application slot, its API class's slot and its credits from
// the pool (a limiter.Limiter, over any store: the Redis store makes it
// fleet-wide), after the integration's own rules: a quota (at most a share
// of the pool over the window), the reserves of the others (credits only
// their owner may spend), quiet hours or a pool level to wait for. When
// something is short it waits, by priority and FIFO within a priority,
// cancellable by the request's context, and fails at once with a
// [*LimitError] when what it waits for cannot be back before the context's
// deadline. Slots are held until the response body is closed or read to
// its end.
//
// After each response the Transport reconciles its view with the server's
// limit headers (spending it did not make is charged to the pool and counted
// as external, "outside"); a 429 is classified and retried within a retry
// budget in credits, honouring Retry-After capped and jittered (one too far
// to read, more than a year away or negative, is past the cap; one that is
// no number and no date is ignored). Counters per
// integration are read with [Transport.Stats], and usage statistics can be
// recorded in the server's shape ([WithUsage]).
//
// Three savings are opt-in, per route of the cost table and optionally per
// integration: [WithCoalescing] makes identical concurrent reads share one
// call, [WithCaching] serves metadata from a bounded cache for a TTL, and
// [WithBatching] sends the single-record writes of many goroutines as one
// multi-record call (a panic of the base transport there fails the batch's
// callers with [ErrBatchPanic], and gives back what the batch held; on a
// call sent alone it reaches the caller, once the call's slots and credits
// are given back). Different credentials never share an answer. Every
// call and credit saved is counted, per integration and feature
// ([Stats].Saved, and usage rows under [SavedTenant]); profile/zoho has the
// rules for Zoho CRM.
//
// It is a package of its own, not part of package middleware beside the
// server's Handler, because its policy (integrations, quotas, reserves,
// priorities, quiet hours, retries) is a job of its own, and its options
// would collide with the server's names (Option, WithClock, Counters).
package client
