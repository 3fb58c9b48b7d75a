//go:build !creditgate_testhooks

package client

// testHooks is false in every build but the interleaving tests': the hooks'
// checks then compile to nothing.
const testHooks = false
