// Package redis is the store.Store on Redis: one credit pool and one set
// of concurrency caps per tenant, shared by every instance on the same
// Redis (or Redis Cluster).
//
// # One step, one round trip
//
// Each step is one run of one Lua script (lua/lib.lua and lua/ops.lua,
// run by its SHA; EVAL loads it again only when Redis answers NOSCRIPT,
// after a restart or SCRIPT FLUSH). A Take takes the application's slot,
// the class's slot and the credits of every window of the plan, all or
// nothing, and returns the decision with the pool's use read in the same
// step, so alert crossings stay exact across instances. A Release is
// queued and sent ahead of the tenant's next step in the same pipeline
// (or by a flusher within a fraction of a millisecond): a call costs one
// round trip.
//
// Windows are those of window.Rolling: a rolling window of length W in
// slots of width w = ceil(W/S) (S = 96 by default, WithSlots), credits
// spent in slot k back at (k+1)w + W, never early; calendar windows reset
// whole at wall-clock boundaries (computed by the instance with
// window.Fixed and checked against Redis's clock); compound plans must all
// admit. Time is Redis's (TIME), one clock for every instance;
// WithClientTime makes the store count at the now it is given, for tests
// and replays. A caller behind the tenant's newest instant counts there.
//
// All of a tenant's keys carry one hash tag, the tenant's name in base64
// (any bytes, braces included), so a step touches one cluster slot. Idle
// keys expire about a window after their last spend; a plan SetPlan stored
// in Redis (where every instance finds it) goes with them.
//
// # Replays and leases
//
// A call that fails ambiguously (timeout, connection reset) is sent again
// with the same step id within WithTimeout: Settle and Charge find their
// recorded result (kept WithReplayTTL), a Take finds its slot member
// already held and is not run again (its figures are then read anew).
// Nothing is charged twice.
//
// A slot is a lease with a deadline (a sorted-set member scored by it);
// the store's goroutine renews the slots it holds every third of
// WithLeaseTTL, in one pipeline; a crashed holder's slots come back when
// their deadline passes. Release is idempotent. A call of several units
// (store.Request.Units) holds one member per unit in its application's
// key, all with one deadline (and one in its class's), so its take,
// renewals and release cost that many set entries: caps and units of
// thousands are for the memory store. One of more units than the plan's
// cap is never sent as a take: the store reads the pool (a read-only
// step), for the refusal to name it as any other does, and takes as usual
// if the plan Redis holds (SetPlan) has room for it; out of reach, it is
// refused in every mode, naming no pool (Limit 0). A call of several units
// never has its slots kept as spares (see Credit leasing); its take gives
// back the instance's spares of its application first, as they are units
// of its key. Other
// instances' spares Redis cannot tell from calls in flight (a spare is kept
// without a round trip): a take of several units refused for concurrency
// marks its application for a lease TTL, and while it is marked every
// instance gives back its spares of it at its next renewal and keeps
// none, so the call is admitted on a retry once the calls in flight end.
//
// # Credit leasing
//
// WithCreditLeasing lets an instance take a block of credits beyond a
// call's in the same step and spend it locally, keeping ended calls' slots
// for the next calls (renewed like any lease): most decisions then make no
// round trip. Blocks double while used up and halve when given back idle,
// never exceed 1/8 of what the pool has left, and what is not spent goes
// back into the slot it was taken in (at the next sweep, or Close). The
// pool is never over-admitted: a block is spent from every window of the
// plan when taken, and spent locally for at most half the shortest of
// them, while they all still count it. Every reply and renewal for the
// tenant carries the windows' epoch, which changes when they are made anew
// (a restart without persistence, a failover that lost them, an
// eviction) or reshaped for another plan (SetPlan): a block of another
// epoch is dropped, not given back (a refund would take back what was
// spent since). An instance notices at its next round trip for the
// tenant, at the latest its next renewal (a block is spent only beside a
// spare slot, which renewals walk: within a third of WithLeaseTTL);
// until then it spends its block as before, which a pool made anew or a
// window shortened to less than half its old length no longer counts.
// Windows that come back older but not made anew (a failover, or a
// restart from a snapshot, that lost only their latest writes, the
// block's take among them) keep their epoch: a block taken in what was
// lost is spent, as the credits spent there are spent again.
// A block's half window is judged on the windows' clock: locally on the
// caller's now and on this process's monotonic clock since the block came
// (the earlier deadline wins), and at each reply and renewal on the
// windows' frontier, the latest instant they counted at (with
// WithClientTime, the latest now any instance gave: an instance whose
// clock is behind the others' drops its block once it sees the frontier
// half a window past the block's instant).
// Decisions served from a block report the use within the block's range,
// so each figure is still reported once fleet-wide; a block given back
// lowers the use, and a threshold in the range given back can be crossed
// again later.
//
// # Failures
//
// Every call has a deadline (WithTimeout). A circuit breaker
// (WithBreaker) stops calling a Redis that keeps failing and probes it
// again after a cooldown. Meanwhile the failure mode (WithFailure)
// decides: FailClosed refuses (store.ReasonUnavailable); FailOpen admits
// and counts; Degraded spends leased credits, then 1/N of what the
// instance last saw left in the pool (and in each extra window), for N
// instances: at most one pool in all while cut off, never N pools. Its
// share of a concurrency cap, ceil(cap/N), counts every unit the
// instance holds as it is at each take: calls admitted through Redis and
// still running, spare slots (on which credit leasing admits without
// asking the share), takes sent to Redis and not yet answered (the
// half-open breaker's probe, which Redis may admit), and the calls the
// share admitted. A release gives them back once, during the outage or
// after, and a call that runs on keeps its units out of the share. The
// share's calls are leases too (a member per unit, as a take's): once
// Redis answers, renewals hold them in Redis and renew them, and the
// tenant's next take holds them first (one more round trip), so Redis
// counts them before it admits beside them; if other instances filled a
// cap meanwhile, Redis holds more than it until enough calls end (the
// outage's overshoot). Other instances' takes may run before this
// instance's first take or renewal of the tenant (within a third of
// WithLeaseTTL). A slot released while Redis is away is not renewed: its
// lease runs out in Redis. That view may be stale (what others
// spent after it, and with credit leasing their unspent blocks, are not in
// it), so the fleet can spend beyond what was really left
// (TestFailureModes: 8 credits with blocks of up to 64). What
// FailOpen and Degraded spent is charged to the pool once Redis is back
// (Stats.Unreconciled counts what no longer fit). A take that failed
// after it was sent may have run: with FailOpen or Degraded every take
// records its result (WithReplayTTL), and the credits of the call the
// mode admits then (from the share, never from a leased block) are booked
// by a charge with the take's id, which finds that record and charges
// nothing if the take ran and admitted (an outage longer than
// WithReplayTTL loses the record: the take is then charged again); a
// block the take leased, which its caller never had, is given back. A
// call Degraded refuses after its take was sent (its share spent) may
// have been admitted in Redis: reconcile looks up the take's record with
// a charge of nothing under its id and gives back what the take took
// (once: the give-back has an id of its own, and is lost, not repeated,
// if all its sends fail). Reconcile charges the rest of the debt (what
// was admitted with the breaker open, and steps past 64 a tenant) as one
// charge, which keeps its id once sent: a charge whose replies were lost
// is found by the next reconcile, not charged again. Each tenant keeps at
// most 64 such steps; past them a step is booked as new (charged again if
// it ran) or, a refused call's, not given back. A refund (Settle) whose
// call fails, in any mode, is booked too, and reconcile replays it as a
// settle of the same id into the call's slot: one that ran finds its
// record and applies once, and a slot the window has left since gives
// back nothing. The record lasts WithReplayTTL: a refund that was sent
// and is not replayed within it (less two WithTimeout) is dropped, never
// applied twice, and so is one past the 64 steps (its credits come back
// when their slot does). FailClosed records no take: a call it refuses
// after its take was sent keeps what the take took, if it ran, until the
// windows give it back. Those
// records cost Redis memory: one small key per take for WithReplayTTL (30 s
// by default), so about 30 × the fleet's takes per second keys; size
// maxmemory for it, or shorten WithReplayTTL (it must outlast WithTimeout
// and an outage one wants charged once). Stats and Circuit report it all.
//
// Redis must keep the store's keys: every one has an expiry, so a
// maxmemory policy that evicts (allkeys-* or volatile-*) may drop a
// tenant's spending or slots, which are then handed out again. Use
// noeviction: a full Redis then refuses steps, and the failure mode
// decides. A restart without persistence (or a failover that lost
// writes) forgets them too, and credits spent before are spent again;
// a refund (Settle) of a call counted before takes nothing back from the
// windows made since, which know the instant they were made at (with
// WithClientTime, one made by an instance whose clock is behind that call's
// instant may still refund it).
// Each instance finds its slots lost at its next renewal (within a third
// of WithLeaseTTL): it holds again those of its calls in flight (counted
// from then on, also past a cap that others filled meanwhile: it refuses
// until enough calls end) and drops its spares. Until every instance has
// renewed, the caps admit beside the calls in flight they forgot. A slot
// released just as its renewal was sent may be held again, by no call,
// until the instance releases it again once the renewal is back.
//
// # Snapshots
//
// Redis persists itself (RDB, AOF, replicas): that is this store's
// snapshot, and the store does not implement store.Snapshotter. To move
// tenants between deployments, copy the keys under the prefix (DUMP and
// RESTORE, or a replica).
package redis
