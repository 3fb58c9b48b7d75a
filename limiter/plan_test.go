package limiter

import (
	"errors"
	"math"
	"testing"
	"time"

	"github.com/creditgate/creditgate/window"
)

func TestPlanValidate(t *testing.T) {
	ok := Plan{Name: "p", BaseCredits: 100, Concurrency: 2, SubConcurrency: map[string]int64{"bulk": 1}}
	if err := ok.Validate(); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		edit func(*Plan)
		want error
	}{
		{"negative base", func(p *Plan) { p.BaseCredits = -1 }, ErrNegative},
		{"negative licences", func(p *Plan) { p.Licences = -1 }, ErrNegative},
		{"negative window", func(p *Plan) { p.Window = -time.Second }, ErrNegative},
		{"empty pool", func(p *Plan) { p.BaseCredits = 0 }, ErrNoCredits},
		{"zero concurrency", func(p *Plan) { p.Concurrency = 0 }, ErrNoConcurrency},
		{"zero sub", func(p *Plan) { p.SubConcurrency = map[string]int64{"bulk": 0} }, ErrNoConcurrency},
		{"nameless class", func(p *Plan) { p.SubConcurrency = map[string]int64{"": 3} }, ErrUnknownClass},
		{"empty extra", func(p *Plan) { p.Extra = []WindowLimit{{0, time.Second}} }, ErrNoCredits},
		{"extra no window", func(p *Plan) { p.Extra = []WindowLimit{{10, 0}} }, ErrNegative},
		{"extra above pool", func(p *Plan) { p.Extra = []WindowLimit{{101, time.Hour}} }, ErrCapAbovePool},
		{"overflow", func(p *Plan) { p.CreditsPerLicence, p.Licences = math.MaxInt64/2, 3 }, ErrOverflow},
		{"above window limit", func(p *Plan) { p.BaseCredits = 1<<40 + 1 }, ErrOverflow},
		{"concurrency above the cap", func(p *Plan) { p.Concurrency = MaxConcurrency + 1 }, ErrOverflow},
		{"window above the longest", func(p *Plan) { p.Window = window.MaxLength + 1 }, ErrOverflow},
		{"extra window above the longest", func(p *Plan) {
			p.Extra = []WindowLimit{{Credits: 1, Window: math.MaxInt64}}
		}, ErrOverflow},
		{"sub-concurrency above the cap", func(p *Plan) { p.SubConcurrency = map[string]int64{"bulk": 1 << 40} }, ErrOverflow},
	} {
		p := clonePlan(ok)
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
	p := clonePlan(ok)
	p.Extra = []WindowLimit{{1000, 48 * time.Hour}}
	if err := p.Validate(); err != nil {
		t.Errorf("longer extra window: %v", err)
	}
}

func TestPlanCredits(t *testing.T) {
	for _, tc := range []struct {
		p    Plan
		want int64
	}{
		{Plan{BaseCredits: 50000, CreditsPerLicence: 250, Licences: 10, MaxCredits: 100000}, 52500},
		{Plan{BaseCredits: 50000, CreditsPerLicence: 250, Licences: 1000, MaxCredits: 100000}, 100000},
		{Plan{BaseCredits: 50000, CreditsPerLicence: 250, Licences: 1000, MaxCredits: 100000, AddOnCredits: 7}, 100007},
		{Plan{BaseCredits: 10, CreditsPerLicence: math.MaxInt64, Licences: 2}, math.MaxInt64},
	} {
		if got := tc.p.Credits(); got != tc.want {
			t.Errorf("%+v: %d, want %d", tc.p, got, tc.want)
		}
	}
	if (Plan{}).WindowLength() != 24*time.Hour {
		t.Error("default window")
	}
}
