//go:build !creditgate_testhooks

package window

// testHooks is false in every build but the interleaving tests': the hooks'
// checks then compile to nothing. Two of them sat on the pool's one
// compare-and-swap path, where their loads and branches cost about a
// nanosecond of nine.
const testHooks = false
