package limiter

import (
	"time"

	"github.com/creditgate/creditgate/window"
)

// creditWindow is what the limiter needs of a window: the window contract.
type creditWindow = window.Window

func newRolling(limit int64, length time.Duration, slots int) (*window.Rolling, error) {
	if slots > 0 {
		return window.NewRolling(limit, length, window.WithSlots(slots))
	}
	return window.NewRolling(limit, length)
}

func newCompound(ws ...creditWindow) (creditWindow, error) { return window.NewCompound(ws...) }
