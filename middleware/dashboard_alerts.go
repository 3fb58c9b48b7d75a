package middleware

import (
	"slices"
	"strings"
	"sync"

	"github.com/creditgate/creditgate/limiter"
)

// DefaultAlertLogSize is how many crossings an AlertLog keeps by default.
const DefaultAlertLogSize = 1000

// AlertLog keeps the latest alert crossings, for the dashboard to show
// with their thresholds ([WithAlertLog]). Its Add is the callback of
// limiter.WithAlerts:
//
//	alerts := middleware.NewAlertLog(nil, 0)
//	l, err := limiter.New(plan, limiter.WithAlerts(alerts.Thresholds(), alerts.Add))
//
// It holds at most its size of crossings, of every tenant together: the
// oldest goes first. Safe for concurrent use.
type AlertLog struct {
	thresholds []int
	mu         sync.Mutex // protects ring and next
	ring       []limiter.Alert
	next       int // where the next crossing goes once ring is full
}

// NewAlertLog returns a log of at most size crossings (DefaultAlertLogSize
// when size <= 0) of thresholds, in percent of the pool (nil: the
// limiter's defaults, 80, 90 and 100), which it reports as they are given.
func NewAlertLog(thresholds []int, size int) *AlertLog {
	if thresholds == nil {
		thresholds = limiter.DefaultThresholds
	}
	if size <= 0 {
		size = DefaultAlertLogSize
	}
	return &AlertLog{thresholds: slices.Clone(thresholds), ring: make([]limiter.Alert, 0, size)}
}

// Thresholds returns the thresholds the log was made with.
func (a *AlertLog) Thresholds() []int { return slices.Clone(a.thresholds) }

// Add records a crossing.
func (a *AlertLog) Add(al limiter.Alert) {
	al.Tenant = strings.Clone(al.Tenant) // kept for the log's life; it may share a request's memory
	a.mu.Lock()
	defer a.mu.Unlock()
	if len(a.ring) < cap(a.ring) {
		a.ring = append(a.ring, al)
		return
	}
	a.ring[a.next] = al
	a.next = (a.next + 1) % len(a.ring)
}

// Alerts returns tenant's crossings in the log, newest first (in the order
// added, which is the alerts' order for one tenant).
func (a *AlertLog) Alerts(tenant string) []limiter.Alert {
	a.mu.Lock()
	defer a.mu.Unlock()
	var out []limiter.Alert
	for i := range a.ring {
		al := a.ring[(a.next+len(a.ring)-1-i)%len(a.ring)]
		if al.Tenant == tenant {
			out = append(out, al)
		}
	}
	return out
}
