package middleware

import (
	"net/http"
	"strings"
	"time"
)

// limitField is a field ParseHeaders reads: its canonical map key, and its
// name as the vendor spells it, for HeaderError.
type limitField struct{ key, name string }

func newLimitField(name string) limitField {
	return limitField{http.CanonicalHeaderKey(name), name}
}

// The fields beyond this package's own (headers.go), by dialect.
var (
	fieldLimit            = limitField{keyLimit, HeaderLimit}
	fieldRemaining        = limitField{keyRemaining, HeaderRemaining}
	fieldReset            = limitField{keyReset, HeaderReset}
	fieldCreditsRemaining = limitField{keyCreditsRemaining, HeaderCreditsRemaining}

	fieldGitHubUsed     = newLimitField("X-RateLimit-Used")
	fieldGitHubResource = newLimitField("X-RateLimit-Resource")

	fieldHubSpotDaily          = newLimitField("X-HubSpot-RateLimit-Daily")
	fieldHubSpotDailyRemaining = newLimitField("X-HubSpot-RateLimit-Daily-Remaining")
	fieldHubSpotInterval       = newLimitField("X-HubSpot-RateLimit-Interval-Milliseconds")
	fieldHubSpotMax            = newLimitField("X-HubSpot-RateLimit-Max")
	fieldHubSpotRemaining      = newLimitField("X-HubSpot-RateLimit-Remaining")
	fieldHubSpotSecondly       = newLimitField("X-HubSpot-RateLimit-Secondly")
	fieldHubSpotSecondlyRem    = newLimitField("X-HubSpot-RateLimit-Secondly-Remaining")

	fieldSforceLimitInfo = newLimitField("Sforce-Limit-Info")
)

// day is the window of HubSpot's daily pool (a calendar day in the account's
// time zone, which the response does not name) and of Salesforce's rolling
// allocation.
const day = 24 * time.Hour

// count reads the integer field f; ok is false when it is absent or
// malformed (which is reported).
func (p *parser) count(f limitField) (n int64, ok bool) {
	v, sent := p.h[f.key]
	if !sent || len(v) == 0 {
		return 0, false
	}
	n, ok = singleCount(v)
	if !ok {
		p.fail(f.name)
	}
	return n, ok
}

// countInto sets the integer field which of dst from f when f parses.
func (p *parser) countInto(dst *Pool, which Fields, f limitField) {
	n, ok := p.count(f)
	if !ok {
		return
	}
	switch which {
	case FieldLimit:
		dst.Limit = n
	case FieldRemaining:
		dst.Remaining = n
	case FieldUsed:
		dst.Used = n
	}
	dst.Present |= which
}

// xRateLimit reads the X-RateLimit-* fields that Zoho and GitHub share, and
// Zoho's X-API-CREDITS-REMAINING.
func (p *parser) xRateLimit() {
	var x Pool
	p.countInto(&x, FieldLimit, fieldLimit)
	p.countInto(&x, FieldRemaining, fieldRemaining)
	p.countInto(&x, FieldUsed, fieldGitHubUsed)
	github := x.Has(FieldUsed)
	if n, ok := p.count(fieldReset); ok {
		t, epoch, ok := resetAt(p.now, n)
		if ok {
			x.Reset = t
			x.Present |= FieldReset
		} else {
			p.fail(fieldReset.name)
		}
		github = github || epoch
	}
	if v := p.h[fieldGitHubResource.key]; len(v) > 0 {
		if name, ok := resourceName(v); ok {
			x.Name, github = name, true
		} else {
			p.fail(fieldGitHubResource.name)
		}
	}
	if n, ok := p.count(fieldCreditsRemaining); ok {
		// Both count the same pool; the lower is the safe reading.
		p.l.CreditsRemaining = n
		p.l.Present |= FieldCreditsRemaining
		p.l.Dialects |= DialectZoho
		if !x.Has(FieldRemaining) || n < x.Remaining {
			x.Remaining = n
			x.Present |= FieldRemaining
		}
	}
	d := DialectZoho
	if github {
		d = DialectGitHub
	}
	p.merge(d, x, Pool{})
}

// resourceName reads X-RateLimit-Resource ("core", "graphql", ...): a short
// token of letters, digits, '_' and '-', the same on every line.
func resourceName(lines []string) (string, bool) {
	name := strings.TrimSpace(lines[0])
	if name == "" || len(name) > 64 {
		return "", false
	}
	for i := 0; i < len(name); i++ {
		switch c := name[i]; {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '_', c == '-':
		default:
			return "", false
		}
	}
	for _, s := range lines[1:] {
		if strings.TrimSpace(s) != name {
			return "", false
		}
	}
	return name, true
}

// hubSpot reads X-HubSpot-RateLimit-*: the daily pool, and the interval
// pool from -Max, -Remaining and -Interval-Milliseconds or, when neither of
// the first two is sent, from the per-second fields.
func (p *parser) hubSpot() {
	var daily, interval Pool
	p.countInto(&daily, FieldLimit, fieldHubSpotDaily)
	p.countInto(&daily, FieldRemaining, fieldHubSpotDailyRemaining)
	if daily.Present != 0 {
		daily.Window = day
		daily.Present |= FieldWindow
	}
	p.countInto(&interval, FieldLimit, fieldHubSpotMax)
	p.countInto(&interval, FieldRemaining, fieldHubSpotRemaining)
	if n, ok := p.count(fieldHubSpotInterval); ok {
		if d, ok := within(n, time.Millisecond, false); ok {
			interval.Window = d
			interval.Present |= FieldWindow
		} else {
			p.fail(fieldHubSpotInterval.name)
		}
	}
	if interval.Present&(FieldLimit|FieldRemaining) == 0 {
		var second Pool
		p.countInto(&second, FieldLimit, fieldHubSpotSecondly)
		p.countInto(&second, FieldRemaining, fieldHubSpotSecondlyRem)
		if second.Present != 0 {
			second.Window = time.Second
			second.Present |= FieldWindow
			interval = second
		}
	}
	p.merge(DialectHubSpot, daily, interval)
}

// salesforce reads api-usage=USED/LIMIT from Sforce-Limit-Info, whose items
// are separated by ';' (Salesforce's examples) or ','; it must be there,
// and the same in every copy.
func (p *parser) salesforce() {
	v := p.h[fieldSforceLimitInfo.key]
	if len(v) == 0 {
		return
	}
	var used, limit int64
	found := false
	for _, line := range v {
		for rest := line; rest != ""; {
			var item string
			if i := strings.IndexAny(rest, ";,"); i >= 0 {
				item, rest = rest[:i], rest[i+1:]
			} else {
				item, rest = rest, ""
			}
			k, val, _ := strings.Cut(item, "=")
			if strings.TrimSpace(k) != "api-usage" {
				continue
			}
			u, l, ok := apiUsage(val)
			if !ok || (found && (u != used || l != limit)) {
				p.fail(fieldSforceLimitInfo.name)
				return
			}
			used, limit, found = u, l, true
		}
	}
	if !found {
		p.fail(fieldSforceLimitInfo.name)
		return
	}
	p.merge(DialectSalesforce, Pool{Limit: limit, Used: used, Window: day,
		Present: FieldLimit | FieldUsed | FieldWindow}, Pool{})
}

// apiUsage reads "USED/LIMIT".
func apiUsage(s string) (used, limit int64, ok bool) {
	u, l, cut := strings.Cut(s, "/")
	if !cut {
		return 0, 0, false
	}
	used, ok1 := parseCount(u)
	limit, ok2 := parseCount(l)
	return used, limit, ok1 && ok2
}
