package zoho

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/creditgate/creditgate/store"
)

// ClassComplex is the class of Zoho's complex APIs, which share one
// sub-concurrency limit (the fact sheet, section 3: "a group of complex
// APIs shares a limit of 10"): bulk read and write, COQL, lead conversion,
// send mail, composite requests, and Get Records with cvid or sort_by
// (cost.Pricer's InClass decides these from the query). Upserts of more
// than 10 records, which secondary quotes count too, are in no class: the
// body tells them, and it is read after admission takes a class's slot.
// One class, not one per API: with a cap
// of 10 for each, 50 complex calls could be in flight where Zoho runs 10,
// and a client kept to such a plan would meet Zoho's 429s.
const ClassComplex = "complex"

// SubConcurrency is Zoho's sub-concurrency limit for complex APIs: 10 in
// flight per org for the whole group (ClassComplex), the same on every
// edition (since 18 Aug 2020).
const SubConcurrency = 10

// CompositeUnits is what a Composite call takes of its application's
// concurrency cap (Zoho's own text: "uses 5 concurrency units and 1
// sub-concurrency unit"): on Free, whose cap is 5, one composite call runs
// at a time.
const CompositeUnits = 5

// MaxBody bounds how much of a request body the cost functions read.
const MaxBody = 4 << 20

// ErrEdition is returned by Edition for a name it does not know.
var ErrEdition = errors.New("zoho: unknown edition")

func subConcurrency() map[string]int64 {
	return map[string]int64{ClassComplex: SubConcurrency}
}

// EditionLimits is one edition's credit formula and caps. The pool over a
// rolling 24 hours is min(Base + PerLicence × licences + add-ons, Cap) (Cap
// 0: none), Zoho's published formula: the cap bounds add-on credits too;
// Concurrency is the in-flight cap per application (Zoho's current scope,
// per org or per user, is unconfirmed).
type EditionLimits struct {
	Name        string
	Base        int64
	PerLicence  int64
	Cap         int64
	Concurrency int64
}

// The editions (docs/credit-limits.md, section 1).
var (
	Free         = EditionLimits{Name: "free", Base: 5000, Cap: 5000, Concurrency: 5}
	Standard     = EditionLimits{Name: "standard", Base: 50000, PerLicence: 250, Cap: 100000, Concurrency: 10}
	Professional = EditionLimits{Name: "professional", Base: 50000, PerLicence: 500, Cap: 3000000, Concurrency: 15}
	Enterprise   = EditionLimits{Name: "enterprise", Base: 50000, PerLicence: 1000, Cap: 5000000, Concurrency: 20}
	// Ultimate (CRM Plus) has no cap.
	Ultimate = EditionLimits{Name: "ultimate", Base: 50000, PerLicence: 2000, Concurrency: 25}
)

// Credits returns the edition's pool for licences and add-on credits: the
// formula, add-ons included, capped; saturating instead of overflowing (a
// plan that large fails validation).
func (e EditionLimits) Credits(licences, addOns int64) int64 {
	c := e.Base
	if licences > 0 {
		if e.PerLicence > (math.MaxInt64-c)/licences {
			c = math.MaxInt64
		} else {
			c += e.PerLicence * licences
		}
	}
	if addOns > 0 {
		if c > math.MaxInt64-addOns {
			c = math.MaxInt64
		} else {
			c += addOns
		}
	}
	if e.Cap > 0 && c > e.Cap {
		c = e.Cap
	}
	return c
}

// Plan returns the edition's plan for licences and add-on credits: the pool,
// the rolling 24 hours, the concurrency cap and the sub-concurrency caps.
// Its AddOns are the add-on credits the pool holds beyond the allowance
// (fewer than given when the cap binds), which X-API-CREDITS-REMAINING
// leaves out: Zoho sends it from half the allowance used, "add-on credits
// excluded".
func (e EditionLimits) Plan(licences, addOns int64) (store.Plan, error) {
	if licences < 0 || addOns < 0 {
		return store.Plan{}, fmt.Errorf("zoho: negative licences or add-ons (%d, %d)", licences, addOns)
	}
	credits := e.Credits(licences, addOns)
	p := store.Plan{Name: e.Name, Credits: credits, Window: 24 * time.Hour,
		Concurrency: e.Concurrency, SubConcurrency: subConcurrency(), AddOns: credits - e.Credits(licences, 0)}
	return p, p.Validate()
}

// Edition returns the named edition's plan ("free", "standard",
// "professional", "enterprise", "ultimate"; case-insensitive; "starter",
// "zoho one" and "crm plus" are accepted aliases) with the given number of
// licences and no add-on credits.
func Edition(name string, licences int64) (store.Plan, error) {
	e, err := Lookup(name)
	if err != nil {
		return store.Plan{}, err
	}
	return e.Plan(licences, 0)
}

// Lookup returns the named edition's limits (see Edition for the names).
func Lookup(name string) (EditionLimits, error) {
	switch strings.ToLower(strings.TrimSpace(name)) {
	case "free":
		return Free, nil
	case "standard", "starter":
		return Standard, nil
	case "professional":
		return Professional, nil
	case "enterprise", "zoho one":
		return Enterprise, nil
	case "ultimate", "crm plus":
		return Ultimate, nil
	}
	return EditionLimits{}, fmt.Errorf("%w %q", ErrEdition, name)
}
