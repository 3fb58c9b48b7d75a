package limiter

import (
	"time"

	"github.com/creditgate/creditgate/window"
)

// initRolling sets up r, a tenant's rolling window, with the store's slot
// count (0 = window's default).
func initRolling(r *window.Rolling, limit int64, length time.Duration, slots int) error {
	if slots > 0 {
		return r.Init(limit, length, window.WithSlots(slots))
	}
	return r.Init(limit, length)
}
