package redis

import "sync/atomic"

// Stats are a store's counters since New.
type Stats struct {
	RoundTrips   int64 // script runs sent (a NOSCRIPT reload counts twice)
	Errors       int64 // calls that failed after their retries (steps, renewals, release flushes: each failure the breaker counts)
	Replays      int64 // retries of a step after an ambiguous error
	Reloads      int64 // NOSCRIPT answers (script cache lost: restart, flush)
	BreakerOpens int64 // times the circuit opened
	Refused      int64 // Takes refused with store.ReasonUnavailable
	// While Redis was unreachable: calls admitted and their credits
	// (fail-open, or degraded's share); and after it came back, the
	// credits booked to the pools and those the pools could not take.
	OutageAdmitted int64
	OutageCredits  int64
	Reconciled     int64
	Unreconciled   int64
	LeasesLost     int64 // renewals that found the lease expired
	Local          int64 // decisions served from a leased block, no round trip
	Blocks         int64 // blocks leased
	GivenBack      int64 // block credits given back unspent
	BlocksDropped  int64 // blocks dropped unspent: the windows were made anew or reshaped, or rolled past them
}

type counters struct {
	roundTrips, errors, replays, reloads, opens, refused atomic.Int64
	outAdmitted, outCredits, reconciled, unreconciled    atomic.Int64
	leasesLost, local, blocks, givenBack, blocksDropped  atomic.Int64
}

// Stats returns the store's counters.
func (s *Store) Stats() Stats {
	c := &s.stats
	return Stats{RoundTrips: c.roundTrips.Load(), Errors: c.errors.Load(), Replays: c.replays.Load(),
		Reloads: c.reloads.Load(), BreakerOpens: c.opens.Load(), Refused: c.refused.Load(),
		OutageAdmitted: c.outAdmitted.Load(), OutageCredits: c.outCredits.Load(),
		Reconciled: c.reconciled.Load(), Unreconciled: c.unreconciled.Load(),
		LeasesLost: c.leasesLost.Load(), Local: c.local.Load(), Blocks: c.blocks.Load(),
		GivenBack: c.givenBack.Load(), BlocksDropped: c.blocksDropped.Load()}
}

// Circuit returns the state of the store's circuit breaker.
func (s *Store) Circuit() Circuit {
	c, _ := s.brk.circuit()
	return c
}
