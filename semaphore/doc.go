// Package semaphore provides weighted semaphores that cap how many calls are in
// flight, per key, with a lock-free non-blocking path.
package semaphore
