// Package semaphore provides weighted semaphores that cap how many calls are in
// flight, per key, with a lock-free non-blocking path.
//
// [Weighted] serves both sides of a credit-metered API: the server refuses at
// once when a concurrency cap is full ([Weighted.TryAcquire], one CAS, no lock,
// no allocation), and the client waits its turn in strict FIFO order
// ([Weighted.Acquire], cancellable by its context). [Group] keeps one
// semaphore per key (application, or application + API class), bounded in
// number, evicting idle ones. [Lease] ties held weight to the life of
// something else, such as a response body, and [Tracker] finds leases that
// were never released.
package semaphore
