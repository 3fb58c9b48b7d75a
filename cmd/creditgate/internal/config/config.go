// Package config reads, overlays and validates the gateway's configuration: a
// YAML or JSON file (every error names its file, line and field), then
// environment variables, then flags, over built-in defaults that run the Zoho
// Enterprise profile.
package config

import "time"

// Config is the gateway's whole configuration. Default returns the built-in
// one; Parse reads a file over it; Set and ApplyEnv overlay single settings.
// Build validates it and derives the plans and the cost table.
type Config struct {
	Listen    string // the proxy's address
	Upstream  string // the URL requests are proxied to
	Plan      PlanSpec
	Tenants   []TenantPlan // per-tenant overrides of Plan, in file order
	Costs     Costs
	Identity  Identity
	Limits    Limits
	Dashboard Dashboard
	Metrics   Metrics
	Alerts    Alerts
	Snapshot  Snapshot
	Redis     Redis
	Timeouts  Timeouts
	Log       Log

	File string         // the file read, "" for none
	at   map[string]Pos // where each field set came from, by dotted path
}

// PlanSpec describes a plan: a Zoho edition with licences and add-on credits,
// or explicit figures, or an edition whose figures are partly replaced. A nil
// field is unset (a tenant's inherits the top-level plan's).
type PlanSpec struct {
	Edition        *string
	Licences       *int64
	AddOns         *int64
	Credits        *int64
	Window         *time.Duration
	Calendar       *Calendar
	Concurrency    *int64
	SubConcurrency map[string]int64 // caps per class, merged over the edition's
}

// Calendar makes the pool reset at wall-clock boundaries.
type Calendar struct {
	Reset    time.Duration // offset from midnight
	Location string        // IANA name
}

// TenantPlan is one tenant's override of the top-level plan.
type TenantPlan struct {
	Tenant string
	Spec   PlanSpec
	path   string // "tenants.<name>", for errors
}

// Costs selects and amends the cost table.
type Costs struct {
	Profile   string // "zoho" or "none"
	Version   string // the profile's API version, "v8", or "all" (every version the profile prices)
	Default   int64  // what a request no route matches costs
	Overrides []Route
	Routes    []Route
}

// Route prices one ServeMux pattern: a constant Cost, or Records.
type Route struct {
	Pattern string
	Cost    int64
	Class   string // "": none, or an override's profile route's; NoClass: none
	// Units is what a call takes of its application's concurrency cap
	// (cost.Route.Units): 0 keeps an override's profile route's, else 1.
	Units   int64
	Records *Records
}

// NoClass is the class that clears one: an override with Class "" keeps
// the class of the profile's route, one with NoClass leaves it without.
const NoClass = "none"

// Records prices a multi-record write by the length of a JSON array:
// ceil(records/PerCredit), at most MaxCredits, reading at most MaxBody bytes.
type Records struct {
	Key        string
	PerCredit  int64
	MaxCredits int64
	MaxBody    int64
}

// Identity says which request headers name the parties of a call.
type Identity struct {
	TenantHeader   string   // "" : one pool for every caller
	AppHeader      string   // the application (client id): its concurrency cap
	UserHeader     string   // the user, for statistics only
	TrustedProxies []string // CIDRs whose forwarding and tenant headers are believed
	Forwarded      bool     // read RFC 7239 Forwarded instead of X-Forwarded-For
}

// Limits bounds the memory of the store, the statistics and the requests.
type Limits struct {
	MaxTenants     int   // 0: bounded by MaxBytes only
	MaxBytes       int64 // the store's memory bound
	MaxApps        int   // applications per tenant
	UsageRetention time.Duration
	UsageMaxKeys   int // keys per dimension and hour in the statistics
	MaxHeaderBytes int
	MaxKeyBytes    int   // a longer tenant or application key gets 400
	PricingBudget  int64 // request body bytes held for pricing at once
}

// Dashboard is the read-only usage dashboard and the metrics' listener.
type Dashboard struct {
	Enabled bool
	Address string
	Token   string
}

// Metrics is the Prometheus endpoint on the dashboard's listener.
type Metrics struct {
	Enabled    bool
	Path       string
	TopTenants int // tenants with their own series; the rest are "other"
	TopApps    int // applications with their own in-flight series
}

// Alerts are the usage threshold crossings and where they go.
type Alerts struct {
	Thresholds []int
	Webhook    Webhook
}

// Webhook receives each crossing as a JSON POST, retried with backoff.
type Webhook struct {
	URL            string
	Timeout        time.Duration
	MaxAttempts    int
	InitialBackoff time.Duration
	MaxBackoff     time.Duration
	Queue          int
}

// Snapshot is the file the credit state survives a restart in.
type Snapshot struct {
	File     string
	Interval time.Duration
}

// Redis is the shared store of a fleet: with a URL, every gateway on the
// same Redis and prefix shares each tenant's pool and concurrency caps.
type Redis struct {
	URL           string        // redis://, rediss:// or unix://; "" : this process's memory
	Cluster       bool          // URL names Redis Cluster nodes (more with ?addr=host:port)
	Prefix        string        // the keys' prefix: gateways share what they share a prefix for
	Timeout       time.Duration // one call to Redis, its retries included
	Failure       string        // while Redis is unreachable: fail-closed, fail-open or degraded
	Instances     int           // degraded: how many gateways share the pool (each takes 1/N)
	CreditLeasing int64         // credits a gateway may take at once and spend locally (0: off)
}

// Timeouts of the listeners and the upstream.
type Timeouts struct {
	ReadHeader     time.Duration
	Read           time.Duration
	Write          time.Duration
	Idle           time.Duration
	Shutdown       time.Duration // how long a graceful shutdown drains
	UpstreamDial   time.Duration
	UpstreamHeader time.Duration // until the upstream's response header
}

// Log says how the gateway logs.
type Log struct {
	Level  string // debug, info, warn, error
	Format string // text or json
}

// Default returns the built-in configuration: Zoho Enterprise with one
// licence (51,000 credits a rolling day, 20 calls in flight per application,
// 10 of the complex APIs together) and Zoho's cost table of every version
// (costs.version all), everything on loopback. Only
// Upstream is missing.
func Default() *Config {
	edition, licences := "enterprise", int64(1)
	return &Config{
		Listen: "127.0.0.1:8080",
		Plan:   PlanSpec{Edition: &edition, Licences: &licences},
		Costs:  Costs{Profile: "zoho", Version: "all", Default: 1},
		Identity: Identity{
			AppHeader:  "X-Client-Id",
			UserHeader: "X-User-Id",
		},
		Limits: Limits{
			MaxBytes: 256 << 20, MaxApps: 64,
			UsageRetention: 30 * 24 * time.Hour, UsageMaxKeys: 100,
			MaxHeaderBytes: 64 << 10, MaxKeyBytes: 256, PricingBudget: 64 << 20,
		},
		Dashboard: Dashboard{Enabled: true, Address: "127.0.0.1:9090"},
		Metrics:   Metrics{Enabled: true, Path: "/metrics", TopTenants: 20, TopApps: 50},
		Alerts: Alerts{
			Thresholds: []int{80, 90, 100},
			Webhook: Webhook{Timeout: 10 * time.Second, MaxAttempts: 5,
				InitialBackoff: time.Second, MaxBackoff: time.Minute, Queue: 1024},
		},
		Snapshot: Snapshot{Interval: time.Minute},
		Redis:    Redis{Prefix: "cg:", Timeout: 500 * time.Millisecond, Failure: "fail-closed", Instances: 1},
		Timeouts: Timeouts{
			ReadHeader: 10 * time.Second, Read: time.Minute, Write: 2 * time.Minute,
			Idle: 2 * time.Minute, Shutdown: 30 * time.Second,
			UpstreamDial: 10 * time.Second, UpstreamHeader: time.Minute,
		},
		Log: Log{Level: "info", Format: "text"},
		at:  map[string]Pos{},
	}
}

// At returns where the field at path (e.g. "plan.licences") was set, or the
// position of the nearest enclosing field that was.
func (c *Config) At(path string) Pos {
	for p := path; p != ""; p = parent(p) {
		if pos, ok := c.at[p]; ok {
			return pos
		}
	}
	if c.File != "" {
		return Pos{File: c.File}
	}
	return Pos{}
}

// parent trims the last element of a dotted path ("a.b[2].c" -> "a.b[2]" -> "a.b").
func parent(p string) string {
	for i := len(p) - 1; i >= 0; i-- {
		if p[i] == '.' || p[i] == '[' {
			return p[:i]
		}
	}
	return ""
}

func (c *Config) mark(path string, pos Pos) {
	if c.at == nil {
		c.at = map[string]Pos{}
	}
	c.at[path] = pos
}
