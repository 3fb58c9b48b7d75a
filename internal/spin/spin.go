// Package spin holds the wait of lock-free loops that lost a
// compare-and-swap to another core.
package spin

// Backoff waits about a microsecond (3,000 turns of an empty loop: 0.9 µs on
// the AMD EPYC it was measured on). A lock-free loop calls it after its
// compare-and-swap failed because another core changed the word, before it
// loads the word again.
//
// Two cores that retry at once trade the word's cache line at every step, so
// each step costs a transfer between them; a loser that waits lets the winner
// run its next steps on a line in its own cache. A sync.Mutex spins so before
// it parks (up to four rounds of 30 PAUSE instructions, each about 0.8 µs on
// that host), which is why x/sync/semaphore, a mutex, ran TryAcquire and
// Release at 12 ns a pair on two cores where a CAS loop that retried at once
// took 28. Only a lost race waits, so a goroutine alone on its word never
// does.
//
// A loop rather than runtime.Gosched (a round trip through the scheduler,
// which measured little better than retrying at once) or the runtime's
// procyield (reached only by linkname). Small enough to inline, so that the
// loop that calls it needs no frame for it.
func Backoff() {
	for i := spins; i > 0; i-- {
	}
}

const spins = 3000
