//go:build creditgate_testhooks

package window

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestRollingBacksOffOnlyAfterLostSwap_r132: fast leaves the decision to take
// for reasons other than a lost swap (cur holds an older slot, the frontier
// must move, another caller moved the frontier between fast's loads); none of
// them is a lost swap, so no take backs off, and fast's spent then is not
// lostSwap. Catches TryAcquireAt or TakeUnixNano backing off whenever fast is
// not done (the spent == lostSwap check dropped), and fast reporting lostSwap
// on one of its other bails: either would cost a microsecond at every roll.
func TestRollingBacksOffOnlyAfterLostSwap_r132(t *testing.T) {
	takes := map[string]func(r *Rolling, at time.Time, n int64) int64{
		"TryAcquireAt": func(r *Rolling, at time.Time, n int64) int64 {
			ok, err := r.TryAcquireAt(at, n)
			require.NoError(t, err)
			if ok {
				return n
			}
			return 0
		},
		"TakeAt":   func(r *Rolling, at time.Time, n int64) int64 { return r.TakeAt(at, n, 0, false).Took },
		"ChargeAt": func(r *Rolling, at time.Time, n int64) int64 { return r.ChargeAt(at, n) },
	}
	for name, take := range takes {
		t.Run(name, func(t *testing.T) {
			r := newTestRolling(t)
			backoffs := 0
			backoffHook = func() { backoffs++ }
			defer func() { backoffHook, takeHook, loadHook = nil, nil, nil }()
			step := func(what string, at time.Time, n, want int64) {
				t.Helper()
				assert.Equal(t, want, take(r, at, n), what)
				assert.Zero(t, backoffs, "%s: backed off with no lost swap", what)
				backoffs = 0
			}
			at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
			step("first take", t0, 2, 2)
			step("same slot", t1, 2, 2)
			step("a later slot", t2, 1, 1)       // cur holds slot 0
			step("the frontier moves", t4, 3, 3) // slot 0 comes back
			// Another caller moves the frontier between fast's read of it and
			// its load of cur: cur then holds a newer slot than fast expects.
			step("set up slot 12", at(12000), 1, 1)
			takeHook = func() {
				takeHook = nil
				mustTake(t, r, at(13000), 1)
			}
			step("frontier moved before cur's load", at(12500), 1, 1)
			// ... and between its load of cur and of past: fast's re-read of
			// the frontier differs.
			step("set up slot 14", at(14000), 1, 1)
			loadHook = func() {
				loadHook = nil
				mustTake(t, r, at(15000), 1)
			}
			step("frontier moved before past's load", at(14500), 1, 1)
			assert.Nil(t, takeHook, "takeHook ran")
			assert.Nil(t, loadHook, "loadHook ran")
		})
	}
}

// fast's spent is lostSwap only when its swap lost: on every other bail it
// is not, and a real spent is never negative.
func TestRollingFastLostSwapOnlyOnLostSwap_r132(t *testing.T) {
	r := newTestRolling(t)
	g := r.g
	mustTake(t, r, t0, 4)
	_, done, spent := r.fast(g, g.toU(t2), 1, 10) // cur holds slot 0, not slot 3
	assert.False(t, done)
	assert.NotEqual(t, int64(lostSwap), spent, "a slot bail is not a lost swap")
	_, done, spent = r.fast(g, g.toU(t4), 1, 10) // the frontier must move
	assert.False(t, done)
	assert.NotEqual(t, int64(lostSwap), spent, "a frontier bail is not a lost swap")
	loadHook = func() {
		loadHook = nil
		mustTake(t, r, t0.Add(1500*time.Millisecond), 1) // rolls cur: fast's c is stale, its head too
	}
	defer func() { loadHook = nil }()
	_, done, spent = r.fast(g, g.toU(t1), 1, 10)
	assert.False(t, done)
	assert.NotEqual(t, int64(lostSwap), spent, "the frontier re-read is not a lost swap")
	// A lost swap proper.
	loadHook = func() {
		loadHook = nil
		mustTake(t, r, t0.Add(1600*time.Millisecond), 1)
	}
	_, done, spent = r.fast(g, g.toU(t0.Add(1700*time.Millisecond)), 1, 10)
	assert.False(t, done)
	assert.Equal(t, int64(lostSwap), spent)
}
