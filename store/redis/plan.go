package redis

import (
	"encoding/json"
	"fmt"
	"hash/fnv"
	"strconv"
	"sync"
	"time"

	"github.com/creditgate/creditgate/store"
	"github.com/creditgate/creditgate/window"
)

// planInfo is a plan as the script takes it: its id (a hash of its
// encoding, so every instance names a plan alike), the encoding stored
// by SetPlan, and each window in microseconds.
type planInfo struct {
	p      *store.Plan
	id     string
	enc    string
	wins   []winInfo
	keyTTL int64 // ms W outlives the step that opened its newest slot
	roll   bool  // every window rolls (credit leasing applies)
	// spendFor is how long a leased block may be spent: half the shortest
	// window, which holds the block's credits only until it rolls past
	// the instant they were counted at.
	spendFor time.Duration
	boxed    []any // the windows' arguments of a rolling plan, boxed once
}

type winInfo struct {
	credits int64
	length  int64 // us
	width   int64 // us, rolling
	cal     *calendar
}

// planJSON is a Plan's encoding: what SetPlan stores for other instances.
type planJSON struct {
	Name        string           `json:"name,omitempty"`
	Credits     int64            `json:"credits"`
	Window      time.Duration    `json:"window"`
	Calendar    *calJSON         `json:"calendar,omitempty"`
	Concurrency int64            `json:"concurrency"`
	Sub         map[string]int64 `json:"sub,omitempty"`
	Extra       []winJSON        `json:"extra,omitempty"`
	AddOns      int64            `json:"add_ons,omitempty"` // omitted when 0: as plans were encoded before it
}

type winJSON struct {
	Credits  int64         `json:"credits"`
	Window   time.Duration `json:"window"`
	Calendar *calJSON      `json:"calendar,omitempty"`
}

type calJSON struct {
	Reset    time.Duration `json:"reset"`
	Location string        `json:"location"`
}

func calOf(c *store.Calendar) *calJSON {
	if c == nil {
		return nil
	}
	return &calJSON{Reset: c.Reset, Location: c.Location.String()}
}

func (c *calJSON) calendar() (*store.Calendar, error) {
	if c == nil {
		return nil, nil
	}
	loc, err := time.LoadLocation(c.Location)
	if err != nil {
		return nil, fmt.Errorf("redis: plan location: %w", err)
	}
	return &store.Calendar{Reset: c.Reset, Location: loc}, nil
}

// encodePlan is p's encoding (json sorts map keys: one plan, one string).
func encodePlan(p *store.Plan) string {
	j := planJSON{Name: p.Name, Credits: p.Credits, Window: p.WindowLength(), Calendar: calOf(p.Calendar),
		Concurrency: p.Concurrency, Sub: p.SubConcurrency, AddOns: p.AddOns}
	for _, x := range p.Extra {
		j.Extra = append(j.Extra, winJSON{Credits: x.Credits, Window: x.Window, Calendar: calOf(x.Calendar)})
	}
	b, _ := json.Marshal(j) // plain data: cannot fail
	return string(b)
}

// decodePlan reads a plan another instance stored.
func decodePlan(enc string) (*store.Plan, error) {
	var j planJSON
	if err := json.Unmarshal([]byte(enc), &j); err != nil {
		return nil, fmt.Errorf("redis: stored plan: %w", err)
	}
	cal, err := j.Calendar.calendar()
	if err != nil {
		return nil, err
	}
	p := &store.Plan{Name: j.Name, Credits: j.Credits, Window: j.Window, Calendar: cal,
		Concurrency: j.Concurrency, SubConcurrency: j.Sub, AddOns: j.AddOns}
	for _, x := range j.Extra {
		c, err := x.Calendar.calendar()
		if err != nil {
			return nil, err
		}
		p.Extra = append(p.Extra, store.WindowLimit{Credits: x.Credits, Window: x.Window, Calendar: c})
	}
	if err := p.Validate(); err != nil {
		return nil, err
	}
	return p, nil
}

// ceilUS is d in whole microseconds, rounded up (never early).
func ceilUS(d time.Duration) int64 { return int64((d + time.Microsecond - 1) / time.Microsecond) }

func newPlanInfo(p *store.Plan, slots int) *planInfo {
	enc := encodePlan(p)
	h := fnv.New64a()
	h.Write([]byte(enc))
	pi := &planInfo{p: p, enc: enc, id: strconv.FormatUint(h.Sum64(), 36), roll: true}
	var longest int64
	pi.spendFor = p.WindowLength() / 2
	for _, x := range append([]store.WindowLimit{p.Pool()}, p.Extra...) {
		pi.spendFor = min(pi.spendFor, x.Window/2)
		w := winInfo{credits: x.Credits, length: ceilUS(x.Window)}
		if x.Calendar != nil {
			w.cal = &calendar{period: x.Window, reset: x.Calendar.Reset, loc: x.Calendar.Location}
			pi.roll = false
		} else {
			w.width = max((w.length+int64(slots)-1)/int64(slots), 1)
		}
		longest = max(longest, w.length+2*w.width)
		pi.wins = append(pi.wins, w)
	}
	pi.keyTTL = longest/1000 + 1000
	if pi.roll {
		pi.boxed = pi.winArgs(nil, time.Time{})
	}
	return pi
}

// classCap is the plan's cap on class, 0 when the class is not capped.
func (pi *planInfo) classCap(class string) int64 {
	if class == "" {
		return 0
	}
	return pi.p.SubConcurrency[class]
}

// args appends the script's plan arguments (ARGV 3 to the op's own) for a
// call at t (the calendar periods around it). A rolling plan's windows are
// boxed once (boxing each number per call cost an allocation each).
func (pi *planInfo) args(a []any, class string, rttl int64, t time.Time) []any {
	a = append(a, pi.id, pi.p.Concurrency, pi.classCap(class), pi.keyTTL, rttl, len(pi.wins))
	if pi.boxed != nil {
		return append(a, pi.boxed...)
	}
	return pi.winArgs(a, t)
}

// winArgs appends the windows' arguments at t.
func (pi *planInfo) winArgs(a []any, t time.Time) []any {
	for _, w := range pi.wins {
		if w.cal != nil {
			e1, e2 := w.cal.periods(t)
			a = append(a, "c", w.credits, w.length, e1, e2)
		} else {
			a = append(a, "r", w.credits, w.length, w.width, 0)
		}
	}
	return a
}

// calendar computes the ends of a calendar window's periods with a
// window.Fixed (the one place that knows the calendar's rules), caching
// the last: the span [lo, e1) is known to end at e1.
type calendar struct {
	period, reset time.Duration
	loc           *time.Location

	mu         sync.Mutex // protects lo, e1, e2
	lo, e1, e2 int64      // us
}

// periods returns the end of the period holding t and of the next, in us.
func (c *calendar) periods(t time.Time) (int64, int64) {
	u := t.UnixMicro()
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.e1 != 0 && u >= c.lo && u < c.e1 {
		return c.e1, c.e2
	}
	e1 := c.end(t)
	c.lo, c.e1, c.e2 = u, ceilUS(time.Duration(e1.UnixNano())), ceilUS(time.Duration(c.end(e1).UnixNano()))
	return c.e1, c.e2
}

// end is when the period holding t ends.
func (c *calendar) end(t time.Time) time.Time {
	f, err := window.NewFixed(1, c.period, c.reset, c.loc)
	if err != nil { // the plan was validated
		panic(err)
	}
	f.TakeAt(t, 1, 0, false)
	return f.ResetAt(t)
}

// plans caches planInfo by plan pointer (PlanFuncs return stable pointers
// to plans they must not change), bounded: a full cache starts over.
type plans struct {
	slots int
	mu    sync.RWMutex // protects m
	m     map[*store.Plan]*planInfo
}

const maxPlans = 4096

func (c *plans) get(p *store.Plan) *planInfo {
	c.mu.RLock()
	pi := c.m[p]
	c.mu.RUnlock()
	if pi != nil {
		return pi
	}
	pi = newPlanInfo(p, c.slots)
	c.mu.Lock()
	if len(c.m) >= maxPlans {
		clear(c.m)
	}
	c.m[p] = pi
	c.mu.Unlock()
	return pi
}
