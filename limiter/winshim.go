package limiter

// TEMPORARY: package window is being written in parallel; this file stands in
// for window.Rolling/Compound with the same method set and is replaced by a thin
// adapter once window lands.

import (
	"errors"
	"sync"
	"time"
)

type creditWindow interface {
	TryAcquireAt(now time.Time, n int64) (bool, error)
	RefundAt(now, spent time.Time, n int64)
	ChargeAt(now time.Time, n int64) int64
	RemainingAt(now time.Time) int64
	ResetAt(now time.Time) time.Time
	AvailableAt(now time.Time, n int64) (time.Time, error)
	Limit() int64
	SetLimit(limit int64) error
}

var (
	errShimCount = errors.New("window: invalid count")
	errShimLimit = errors.New("window: exceeds limit")
)

type shimRolling struct {
	mu    sync.Mutex
	limit int64
	width int64 // slot width, ns
	idx   []int64
	spent []int64
}

func newRolling(limit int64, length time.Duration, slots int) (creditWindow, error) {
	if slots <= 0 {
		slots = 96
	}
	return &shimRolling{limit: limit, width: int64(length) / int64(slots), idx: make([]int64, slots), spent: make([]int64, slots)}, nil
}

func (r *shimRolling) used(now time.Time) int64 {
	cur := now.UnixNano() / r.width
	var u int64
	for i, k := range r.idx {
		if k > cur-int64(len(r.idx)) && k <= cur {
			u += r.spent[i]
		}
	}
	return u
}

func (r *shimRolling) add(now time.Time, n int64) {
	cur := now.UnixNano() / r.width
	i := int(cur % int64(len(r.idx)))
	if r.idx[i] != cur {
		r.idx[i], r.spent[i] = cur, 0
	}
	r.spent[i] += n
}

func (r *shimRolling) TryAcquireAt(now time.Time, n int64) (bool, error) {
	if n <= 0 {
		return false, errShimCount
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if n > r.limit {
		return false, errShimLimit
	}
	if r.used(now)+n > r.limit {
		return false, nil
	}
	r.add(now, n)
	return true, nil
}

func (r *shimRolling) RefundAt(now, spent time.Time, n int64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	k := spent.UnixNano() / r.width
	i := int(k % int64(len(r.idx)))
	if r.idx[i] == k && k > now.UnixNano()/r.width-int64(len(r.idx)) {
		r.spent[i] -= min(n, r.spent[i])
	}
}

func (r *shimRolling) ChargeAt(now time.Time, n int64) int64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	n = min(n, r.limit-r.used(now))
	if n > 0 {
		r.add(now, n)
		return n
	}
	return 0
}

func (r *shimRolling) RemainingAt(now time.Time) int64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return max(r.limit-r.used(now), 0)
}

func (r *shimRolling) ResetAt(now time.Time) time.Time {
	t, _ := r.AvailableAt(now, 1)
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.used(now) == 0 {
		return now
	}
	cur := now.UnixNano() / r.width
	best := int64(-1)
	for i, k := range r.idx {
		if k > cur-int64(len(r.idx)) && k <= cur && r.spent[i] > 0 && (best < 0 || k < best) {
			best = k
		}
	}
	if best < 0 {
		return t
	}
	return time.Unix(0, (best+int64(len(r.idx)))*r.width)
}

func (r *shimRolling) AvailableAt(now time.Time, n int64) (time.Time, error) {
	if n <= 0 {
		return time.Time{}, errShimCount
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if n > r.limit {
		return time.Time{}, errShimLimit
	}
	free := r.limit - r.used(now)
	if free >= n {
		return now, nil
	}
	cur := now.UnixNano() / r.width
	s := int64(len(r.idx))
	for k := cur - s + 1; k <= cur; k++ {
		i := int(k % s)
		if r.idx[i] == k {
			free += r.spent[i]
		}
		if free >= n {
			return time.Unix(0, (k+s)*r.width), nil
		}
	}
	return now, nil
}

func (r *shimRolling) Limit() int64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.limit
}

func (r *shimRolling) SetLimit(limit int64) error {
	if limit <= 0 {
		return errShimLimit
	}
	r.mu.Lock()
	r.limit = limit
	r.mu.Unlock()
	return nil
}

type shimCompound []creditWindow

func newCompound(ws ...creditWindow) (creditWindow, error) { return shimCompound(ws), nil }

func (c shimCompound) TryAcquireAt(now time.Time, n int64) (bool, error) {
	for i, w := range c {
		ok, err := w.TryAcquireAt(now, n)
		if !ok || err != nil {
			for _, v := range c[:i] {
				v.RefundAt(now, now, n)
			}
			return ok, err
		}
	}
	return true, nil
}
func (c shimCompound) RefundAt(now, spent time.Time, n int64) {
	for _, w := range c {
		w.RefundAt(now, spent, n)
	}
}
func (c shimCompound) ChargeAt(now time.Time, n int64) int64 {
	m := n
	for _, w := range c {
		m = min(m, w.RemainingAt(now))
	}
	for _, w := range c {
		w.ChargeAt(now, m)
	}
	return max(m, 0)
}
func (c shimCompound) RemainingAt(now time.Time) int64 {
	m := c[0].RemainingAt(now)
	for _, w := range c[1:] {
		m = min(m, w.RemainingAt(now))
	}
	return m
}
func (c shimCompound) ResetAt(now time.Time) time.Time {
	t := c[0].ResetAt(now)
	for _, w := range c[1:] {
		if u := w.ResetAt(now); u.After(t) {
			t = u
		}
	}
	return t
}
func (c shimCompound) AvailableAt(now time.Time, n int64) (time.Time, error) {
	var t time.Time
	for _, w := range c {
		u, err := w.AvailableAt(now, n)
		if err != nil {
			return u, err
		}
		if u.After(t) {
			t = u
		}
	}
	return t, nil
}
func (c shimCompound) Limit() int64 {
	m := c[0].Limit()
	for _, w := range c[1:] {
		m = min(m, w.Limit())
	}
	return m
}
func (c shimCompound) SetLimit(limit int64) error { return c[0].SetLimit(limit) }
