package store

import (
	"errors"
	"math"
	"testing"
	"time"

	"github.com/creditgate/creditgate/window"
)

func TestPlanValidate(t *testing.T) {
	ok := Plan{Name: "p", Credits: 100, Concurrency: 2, SubConcurrency: map[string]int64{"bulk": 1}}
	if err := ok.Validate(); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		edit func(*Plan)
		want error
	}{
		{"negative pool", func(p *Plan) { p.Credits = -1 }, ErrNoCredits},
		{"negative window", func(p *Plan) { p.Window = -time.Second }, ErrNegative},
		{"empty pool", func(p *Plan) { p.Credits = 0 }, ErrNoCredits},
		{"zero concurrency", func(p *Plan) { p.Concurrency = 0 }, ErrNoConcurrency},
		{"zero sub", func(p *Plan) { p.SubConcurrency = map[string]int64{"bulk": 0} }, ErrNoConcurrency},
		{"nameless class", func(p *Plan) { p.SubConcurrency = map[string]int64{"": 3} }, ErrUnknownClass},
		{"empty extra", func(p *Plan) { p.Extra = []WindowLimit{{Credits: 0, Window: time.Second}} }, ErrNoCredits},
		{"extra no window", func(p *Plan) { p.Extra = []WindowLimit{{Credits: 10}} }, ErrNegative},
		{"extra above pool", func(p *Plan) { p.Extra = []WindowLimit{{Credits: 101, Window: time.Hour}} }, ErrCapAbovePool},
		{"calendar without a location", func(p *Plan) { p.Calendar = &Calendar{} }, ErrCalendar},
		{"calendar reset past a day", func(p *Plan) { p.Calendar = &Calendar{Reset: 24 * time.Hour, Location: time.UTC} }, ErrCalendar},
		{"calendar period not dividing a day", func(p *Plan) {
			p.Window, p.Calendar = 7*time.Hour, &Calendar{Location: time.UTC}
		}, ErrCalendar},
		{"extra calendar without a location", func(p *Plan) {
			p.Extra = []WindowLimit{{Credits: 10, Window: time.Hour, Calendar: &Calendar{}}}
		}, ErrCalendar},
		{"above window limit", func(p *Plan) { p.Credits = 1<<40 + 1 }, ErrOverflow},
		{"concurrency above the cap", func(p *Plan) { p.Concurrency = MaxConcurrency + 1 }, ErrOverflow},
		{"negative add-ons", func(p *Plan) { p.AddOns = -1 }, ErrNegative},
		{"add-ons above the pool", func(p *Plan) { p.AddOns = 101 }, ErrAddOnsAbovePool},
		{"window above the longest", func(p *Plan) { p.Window = window.MaxLength + 1 }, ErrOverflow},
		{"extra window above the longest", func(p *Plan) {
			p.Extra = []WindowLimit{{Credits: 1, Window: math.MaxInt64}}
		}, ErrOverflow},
		{"sub-concurrency above the cap", func(p *Plan) { p.SubConcurrency = map[string]int64{"bulk": 1 << 40} }, ErrOverflow},
	} {
		p := ok.Clone()
		tc.edit(&p)
		err := p.Validate()
		if !errors.Is(err, tc.want) {
			t.Errorf("%s: got %v, want %v", tc.name, err, tc.want)
		}
		var pe *PlanError
		if err != nil && !errors.As(err, &pe) {
			t.Errorf("%s: not a *PlanError: %T", tc.name, err)
		}
	}
	// A longer extra window may allow more than the pool: it still binds.
	p := ok.Clone()
	p.Extra = []WindowLimit{{Credits: 1000, Window: 48 * time.Hour}}
	if err := p.Validate(); err != nil {
		t.Errorf("longer extra window: %v", err)
	}
}

func TestPlanWindowLength(t *testing.T) {
	if (Plan{}).WindowLength() != 24*time.Hour {
		t.Error("default window")
	}
	// A calendar pool whose period is a week is valid, as one of an hour.
	for _, w := range []time.Duration{7 * 24 * time.Hour, time.Hour} {
		p := Plan{Name: "c", Credits: 10, Concurrency: 1, Window: w, Calendar: &Calendar{Location: time.UTC}}
		if err := p.Validate(); err != nil {
			t.Errorf("calendar of %v: %v", w, err)
		}
	}
}

// Clone is deep: a caller editing its plan afterwards changes no clone.
func TestPlanClone(t *testing.T) {
	p := Plan{Name: "p", Credits: 10, Concurrency: 1, SubConcurrency: map[string]int64{"bulk": 1},
		Calendar: &Calendar{Location: time.UTC}, Extra: []WindowLimit{{Credits: 5, Window: time.Second, Calendar: &Calendar{}}}}
	c := p.Clone()
	p.SubConcurrency["bulk"] = 9
	p.Calendar.Reset = time.Hour
	p.Extra[0].Credits = 1
	p.Extra[0].Calendar.Reset = time.Hour
	if c.SubConcurrency["bulk"] != 1 || c.Calendar.Reset != 0 || c.Extra[0].Credits != 5 || c.Extra[0].Calendar.Reset != 0 {
		t.Fatalf("clone shares with the original: %+v", c)
	}
}

// A plan of more windows than any store holds is refused where plans are
// checked (limiter.New, SetPlan, a gateway's config), not by every store's
// Take: the memory store refused each new tenant of such a plan, so a
// limiter built with it refused every call with ReasonTenants.
func TestPlanTooManyWindows(t *testing.T) {
	p := Plan{Name: "p", Credits: 100, Window: time.Hour, Concurrency: 1}
	for i := range MaxWindows - 1 {
		p.Extra = append(p.Extra, WindowLimit{Credits: 100, Window: time.Duration(i+2) * time.Hour})
	}
	if err := p.Validate(); err != nil {
		t.Fatalf("%d windows: %v", 1+len(p.Extra), err)
	}
	p.Extra = append(p.Extra, WindowLimit{Credits: 100, Window: 100 * time.Hour})
	err := p.Validate()
	var pe *PlanError
	if !errors.As(err, &pe) || pe.Field != "Extra" || !errors.Is(err, ErrTooManyWindows) {
		t.Fatalf("%d windows: %v, want a PlanError on Extra for ErrTooManyWindows", 1+len(p.Extra), err)
	}
}

// Allowance is the pool less its add-on credits; a plan made only of
// add-ons is valid, with an allowance of 0.
func TestPlanAllowance(t *testing.T) {
	p := Plan{Credits: 100, Concurrency: 1, AddOns: 30}
	if err := p.Validate(); err != nil || p.Allowance() != 70 {
		t.Fatalf("allowance %d, %v", p.Allowance(), err)
	}
	p.AddOns = 100
	if err := p.Validate(); err != nil || p.Allowance() != 0 {
		t.Fatalf("allowance %d, %v", p.Allowance(), err)
	}
	var pe *PlanError
	p.AddOns = 101
	if err := p.Validate(); !errors.As(err, &pe) || pe.Field != "AddOns" {
		t.Fatalf("add-ons above the pool: %v", err)
	}
}
