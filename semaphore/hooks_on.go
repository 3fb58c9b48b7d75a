//go:build creditgate_testhooks

package semaphore

// testHooks is true when built with -tags creditgate_testhooks, which the
// interleaving tests need (scripts/test.sh passes it): the hooks run.
const testHooks = true
