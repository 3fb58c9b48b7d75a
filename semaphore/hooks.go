//go:build !creditgate_testhooks

package semaphore

// testHooks is false in every build but the interleaving tests': the hooks'
// checks then compile to nothing (see casHook).
const testHooks = false
