package gateway

import (
	"cmp"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/creditgate/creditgate/limiter"
	"github.com/creditgate/creditgate/store"
)

// other is the label value that collects what the cardinality bounds fold
// away, as in package usage.
const other = "other"

// maxLabelBytes bounds a label value taken from a request header.
const maxLabelBytes = 128

// labelValue makes a client-chosen name a safe label value: valid UTF-8, at
// most maxLabelBytes, and not "other" (the series the rest are summed
// under). A name it has to change gets a hash of the original, so that two
// names never collapse into one series (which the registry refuses). A name
// with "…" in it is changed too: it could be another's changed value, and
// the hash is SHA-256's, so that a client cannot make two names that share
// one.
func labelValue(s string) string {
	if len(s) <= maxLabelBytes && utf8.ValidString(s) && s != other && !strings.Contains(s, "…") {
		return s
	}
	h := sha256.Sum256([]byte(s))
	// The kept prefix is cut after the invalid bytes are replaced (each
	// U+FFFD is three bytes), at a rune's start.
	prefix := strings.ToValidUTF8(s[:min(len(s), maxLabelBytes-24)], "\uFFFD")
	cut := min(len(prefix), maxLabelBytes-24)
	for cut < len(prefix) && !utf8.RuneStart(prefix[cut]) {
		cut--
	}
	return fmt.Sprintf("%s…%016x", prefix[:cut], binary.BigEndian.Uint64(h[:8]))
}

// tenantCollector reports each tenant's pool at scrape time, read with Peek:
// the top tenants by credits used get their own series, the others are
// summed into tenant="other", so the series stay bounded however many
// tenants there are. With Redis, the tenants are every gateway's (a SCAN)
// and each Peek is a round trip.
type tenantCollector struct {
	l                     *limiter.Limiter
	tenants               store.Lister
	top                   int
	used, remaining, size *prometheus.Desc
}

func newTenantCollector(l *limiter.Limiter, tenants store.Lister, top int) *tenantCollector {
	desc := func(name, help string) *prometheus.Desc {
		return prometheus.NewDesc(name, help, []string{"tenant"}, nil)
	}
	return &tenantCollector{
		l: l, tenants: tenants, top: top,
		used:      desc("creditgate_tenant_credits_used", "Credits spent in the tenant's current window (top tenants by use; the rest summed as tenant=\"other\")."),
		remaining: desc("creditgate_tenant_credits_remaining", "Credits the tenant may still spend now."),
		size:      desc("creditgate_tenant_credits_limit", "The tenant's pool."),
	}
}

func (c *tenantCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.used
	ch <- c.remaining
	ch <- c.size
}

type tenantPool struct {
	name                   string
	used, remaining, limit int64
}

func (c *tenantCollector) Collect(ch chan<- prometheus.Metric) {
	now := time.Now()
	var pools []tenantPool
	for t := range c.tenants.Tenants() {
		d := c.l.Peek(now, t)
		pools = append(pools, tenantPool{name: t, used: d.Used, remaining: d.Remaining, limit: d.Limit})
	}
	slices.SortFunc(pools, func(a, b tenantPool) int {
		return cmp.Or(cmp.Compare(b.used, a.used), cmp.Compare(a.name, b.name))
	})
	var rest tenantPool
	for i, p := range pools {
		if i >= c.top {
			rest.used += p.used
			rest.remaining += p.remaining
			rest.limit += p.limit
			continue
		}
		c.emit(ch, labelValue(p.name), p)
	}
	if len(pools) > c.top {
		c.emit(ch, other, rest)
	}
}

func (c *tenantCollector) emit(ch chan<- prometheus.Metric, name string, p tenantPool) {
	ch <- prometheus.MustNewConstMetric(c.used, prometheus.GaugeValue, float64(p.used), name)
	ch <- prometheus.MustNewConstMetric(c.remaining, prometheus.GaugeValue, float64(p.remaining), name)
	ch <- prometheus.MustNewConstMetric(c.size, prometheus.GaugeValue, float64(p.limit), name)
}

// inFlight keeps one gauge per application and class, for at most max
// applications (the first seen); later ones share app="other". The lookup on
// the request path is one map read in a copy-on-write map, with no lock.
type inFlight struct {
	vec *prometheus.GaugeVec
	max int

	mu    sync.Mutex      // serialises writers of known and overflow
	apps  map[string]bool // applications with their own series (guarded by mu)
	known atomic.Pointer[map[appClass]prometheus.Gauge]
	// overflow holds app="other" by class, for applications past max; they
	// are not added to known, so that map stays bounded.
	overflow atomic.Pointer[map[string]prometheus.Gauge]
	full     atomic.Bool
}

type appClass struct{ app, class string }

func newInFlight(vec *prometheus.GaugeVec, max int) *inFlight {
	f := &inFlight{vec: vec, max: max, apps: map[string]bool{}}
	known, overflow := map[appClass]prometheus.Gauge{}, map[string]prometheus.Gauge{}
	f.known.Store(&known)
	f.overflow.Store(&overflow)
	return f
}

// gauge returns the gauge of app and class ("" : none).
func (f *inFlight) gauge(app, class string) prometheus.Gauge {
	if g, ok := (*f.known.Load())[appClass{app, class}]; ok {
		return g
	}
	if f.full.Load() {
		if g, ok := (*f.overflow.Load())[class]; ok {
			return g
		}
	}
	return f.add(app, class)
}

func (f *inFlight) add(app, class string) prometheus.Gauge {
	f.mu.Lock()
	defer f.mu.Unlock()
	known := *f.known.Load()
	if g, ok := known[appClass{app, class}]; ok {
		return g
	}
	classLabel := class
	if classLabel == "" {
		classLabel = "none"
	}
	if classLabel != other { // no class is folded: "other" is a class's own name
		classLabel = labelValue(classLabel) // classes come from the cost table: few
	}
	if !f.apps[app] && len(f.apps) >= f.max {
		f.full.Store(true)
		overflow := *f.overflow.Load()
		if g, ok := overflow[class]; ok {
			return g
		}
		g := f.vec.WithLabelValues(other, classLabel)
		next := maps.Clone(overflow)
		next[class] = g
		f.overflow.Store(&next)
		return g
	}
	f.apps[app] = true
	g := f.vec.WithLabelValues(labelValue(app), classLabel)
	next := maps.Clone(known)
	next[appClass{app, class}] = g
	f.known.Store(&next)
	return g
}
