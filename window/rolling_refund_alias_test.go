package window

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestRefundTokOfSlotLongGone: a refund by token (the path Compound takes
// when a later window refuses) of a slot that left the window long ago gives
// back nothing, as RefundAt does. Tags are the slot's epoch modulo 2^T, 2^9
// for this ring's lanes and 2^23 for cur, exact only for epochs near the
// frontier: a slot gone by a multiple of words*2^9 slots (lane) or 2^23
// (cur) has a live slot's tag, and its refund took that slot's credits,
// others' spending, which the pool then lent again. TestRollingStress saw
// it as 11 credits in a window of 10 after a clock jump of a day.
func TestRefundTokOfSlotLongGone(t *testing.T) {
	for _, c := range []struct {
		name string
		ring bool // the later slot rolls into the ring (else it stays cur)
	}{{"a ring lane's tag", true}, {"cur's tag", false}} {
		t.Run(c.name, func(t *testing.T) {
			r := newTestRolling(t) // 10 credits, 10 s, 1-second slots
			alias := uint64(1 << tagBits)
			if c.ring {
				alias = laneAlias(r)
			}
			ok, _, s0 := r.takeTok(t0, 1)
			require.True(t, ok)
			later := t0.Add(time.Duration(alias) * time.Second)
			ok, _, s1 := r.takeTok(later, 9)
			require.True(t, ok)
			require.Equal(t, s0+alias, s1, "the later slot is the alias")
			if c.ring {
				ok, _, _ = r.takeTok(later.Add(time.Second), 1)
				require.True(t, ok)
			}
			at := later.Add(time.Second)
			spent := r.limit.Load() - r.RemainingAt(at)
			assert.Zero(t, r.refundTok(s0, 1), "a slot gone for %d slots gives back nothing", alias)
			assert.Equal(t, spent, r.limit.Load()-r.RemainingAt(at), "the live slots keep their credits")
		})
	}
}

// laneAlias is how many slots apart two slots share a ring word and its
// lanes' tag: words*2^T (a multiple of both moduli).
func laneAlias(r *Rolling) uint64 { return r.words() << laneTag(r.words()) }
