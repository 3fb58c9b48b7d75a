package zoho

import (
	"errors"
	"fmt"
	"strings"

	"github.com/creditgate/creditgate/limiter"
)

// API classes that share Zoho's sub-concurrency limit.
const (
	ClassBulk      = "bulk"
	ClassQuery     = "query"
	ClassConvert   = "convert"
	ClassMail      = "mail"
	ClassComposite = "composite"
)

// SubConcurrency is Zoho's sub-concurrency limit for complex APIs: 10 in flight
// per org for each class, the same on every edition (since 18 Aug 2020).
const SubConcurrency = 10

// MaxBody bounds how much of a request body the cost functions read.
const MaxBody = 4 << 20

// ErrEdition is returned by Edition for a name it does not know.
var ErrEdition = errors.New("zoho: unknown edition")

func subConcurrency() map[string]int64 {
	return map[string]int64{
		ClassBulk: SubConcurrency, ClassQuery: SubConcurrency, ClassConvert: SubConcurrency,
		ClassMail: SubConcurrency, ClassComposite: SubConcurrency,
	}
}

// The editions with zero licences, so that Credits() is the base allowance;
// Edition sets the licence count. The pool is
// min(base + per-licence × licences, cap) + add-ons over a rolling 24 hours.
// Concurrency (in-flight calls per app; Zoho's current scope, per org or per
// user, is unconfirmed) is 5/10/15/20/25.
var (
	Free = limiter.Plan{Name: "free", BaseCredits: 5000, MaxCredits: 5000,
		Concurrency: 5, SubConcurrency: subConcurrency()}
	Standard = limiter.Plan{Name: "standard", BaseCredits: 50000, CreditsPerLicence: 250,
		MaxCredits: 100000, Concurrency: 10, SubConcurrency: subConcurrency()}
	Professional = limiter.Plan{Name: "professional", BaseCredits: 50000, CreditsPerLicence: 500,
		MaxCredits: 3000000, Concurrency: 15, SubConcurrency: subConcurrency()}
	Enterprise = limiter.Plan{Name: "enterprise", BaseCredits: 50000, CreditsPerLicence: 1000,
		MaxCredits: 5000000, Concurrency: 20, SubConcurrency: subConcurrency()}
	// Ultimate (CRM Plus) has no cap.
	Ultimate = limiter.Plan{Name: "ultimate", BaseCredits: 50000, CreditsPerLicence: 2000,
		Concurrency: 25, SubConcurrency: subConcurrency()}
)

// Edition returns the named edition ("free", "standard", "professional",
// "enterprise", "ultimate"; case-insensitive; "starter", "zoho one" and
// "crm plus" are accepted aliases) with the given number of licences. Its
// SubConcurrency map is a fresh copy the caller may change.
func Edition(name string, licences int64) (limiter.Plan, error) {
	var p limiter.Plan
	switch strings.ToLower(strings.TrimSpace(name)) {
	case "free":
		p = Free
	case "standard", "starter":
		p = Standard
	case "professional":
		p = Professional
	case "enterprise", "zoho one":
		p = Enterprise
	case "ultimate", "crm plus":
		p = Ultimate
	default:
		return limiter.Plan{}, fmt.Errorf("%w %q", ErrEdition, name)
	}
	if licences < 0 {
		return limiter.Plan{}, fmt.Errorf("zoho: negative licences %d", licences)
	}
	p.Licences = licences
	p.SubConcurrency = subConcurrency()
	return p, p.Validate()
}
