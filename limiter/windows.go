package limiter

import (
	"time"

	"github.com/creditgate/creditgate/window"
)

// newRolling builds a tenant's rolling window with the store's slot count
// (0 = window's default).
func newRolling(limit int64, length time.Duration, slots int) (*window.Rolling, error) {
	if slots > 0 {
		return window.NewRolling(limit, length, window.WithSlots(slots))
	}
	return window.NewRolling(limit, length)
}
