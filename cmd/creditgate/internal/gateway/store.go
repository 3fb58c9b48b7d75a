package gateway

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	goredis "github.com/redis/go-redis/v9"

	"github.com/creditgate/creditgate/cmd/creditgate/internal/config"
	"github.com/creditgate/creditgate/limiter"
	"github.com/creditgate/creditgate/store"
	"github.com/creditgate/creditgate/store/memory"
	"github.com/creditgate/creditgate/store/redis"
)

// backing is the store the limiter keeps its state in, as the rest of the
// gateway sees it: the tenants it holds (for reloads and the per-tenant
// metrics), its own metrics, and what closing it takes.
type backing interface {
	store.Lister
	collectors() []prometheus.Collector
	close(ctx context.Context) error
}

// newBacking makes the store c asks for and the limiter option that binds
// it: Redis when redis.url is set, else memory.
func newBacking(c *config.Config, log *slog.Logger) (backing, limiter.Option, error) {
	if c.Redis.URL == "" {
		mem := memory.New(memory.WithMaxTenants(c.Limits.MaxTenants),
			memory.WithMaxBytes(c.Limits.MaxBytes), memory.WithMaxApps(c.Limits.MaxApps))
		return memBacking{mem}, limiter.WithStore(mem), nil
	}
	rb, err := newRedisBacking(c.Redis, log)
	if err != nil {
		return nil, nil, err
	}
	return rb, limiter.WithStore(rb.s), nil
}

type memBacking struct{ *memory.Store }

func (memBacking) close(context.Context) error { return nil }

func (m memBacking) collectors() []prometheus.Collector {
	gauge := func(name, help string, f func() float64) prometheus.Collector {
		return prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: help}, f)
	}
	return []prometheus.Collector{
		gauge("creditgate_store_tenants", "Tenants held in the store.", func() float64 { return float64(m.Len()) }),
		gauge("creditgate_store_folded_tenants", "Idle tenants folded into compact records.", func() float64 { return float64(m.Folded()) }),
		gauge("creditgate_store_bytes", "Memory the store counts against limits.max_bytes.", func() float64 { return float64(m.Bytes()) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "creditgate_store_evictions_total",
			Help: "Tenants that left the store's table, folded or dropped."}, func() float64 { return float64(m.Evicted()) }),
	}
}

// redisBacking is the Redis store and the client it owns.
type redisBacking struct {
	s   *redis.Store
	rdb goredis.UniversalClient
}

// redisModes maps redis.failure to the store's modes.
var redisModes = map[string]redis.Mode{"fail-closed": redis.FailClosed, "fail-open": redis.FailOpen, "degraded": redis.Degraded}

func newRedisBacking(c config.Redis, log *slog.Logger) (*redisBacking, error) {
	single, nodes, err := config.ParseRedisURL(c.URL, c.Cluster)
	if err != nil {
		return nil, err // validated by config.Build: not expected
	}
	goredis.SetLogger(redisLog{log}) // the client's logger is global: the last gateway's wins
	// The store bounds each call by its own deadline (redis.timeout);
	// the client must honour it rather than its own read timeouts.
	var rdb goredis.UniversalClient
	if single != nil {
		single.ContextTimeoutEnabled = true
		rdb = goredis.NewClient(single)
	} else {
		nodes.ContextTimeoutEnabled = true
		rdb = goredis.NewClusterClient(nodes)
	}
	opts := []redis.Option{redis.WithPrefix(c.Prefix), redis.WithTimeout(c.Timeout),
		redis.WithFailure(redisModes[c.Failure], c.Instances)}
	if c.CreditLeasing > 0 {
		opts = append(opts, redis.WithCreditLeasing(c.CreditLeasing))
	}
	s, err := redis.New(rdb, opts...)
	if err != nil {
		rdb.Close()
		return nil, fmt.Errorf("redis: %w", err)
	}
	return &redisBacking{s: s, rdb: rdb}, nil
}

func (r *redisBacking) Tenants() iter.Seq[string] { return r.s.Tenants() }

// redisLog sends the Redis client's own messages (failed dials, mostly)
// to the gateway's log, rather than to standard error, where they would
// break its format.
type redisLog struct{ log *slog.Logger }

func (r redisLog) Printf(ctx context.Context, format string, v ...any) {
	r.log.WarnContext(ctx, "redis client: "+fmt.Sprintf(format, v...))
}

// close gives back leased credits and spare slots (the store's Close), then
// closes the client.
func (r *redisBacking) close(ctx context.Context) error {
	return errors.Join(r.s.Close(ctx), r.rdb.Close())
}

// ping logs whether Redis answers; a gateway starts either way, and its
// failure mode decides meanwhile.
func (r *redisBacking) ping(log *slog.Logger, c config.Redis) {
	ctx, cancel := context.WithTimeout(context.Background(), max(c.Timeout, time.Second))
	defer cancel()
	attrs := []any{slog.String("prefix", c.Prefix), slog.String("failure", c.Failure)}
	if err := r.rdb.Ping(ctx).Err(); err != nil {
		log.Warn("redis does not answer: the failure mode applies until it does",
			append(attrs, slog.String("error", err.Error()))...)
		return
	}
	log.Info("state shared in redis", attrs...)
}

var circuitStates = [...]redis.Circuit{redis.Closed, redis.Open, redis.HalfOpen}

// collectors reads the store's counters and circuit once per scrape.
func (r *redisBacking) collectors() []prometheus.Collector {
	return []prometheus.Collector{redisCollector{r.s}}
}

type redisCollector struct{ s *redis.Store }

var (
	redisCircuit = prometheus.NewDesc("creditgate_redis_circuit",
		"The Redis store's circuit breaker: 1 for the state it is in (closed: calls go to Redis; open: they fail at once and the failure mode decides; half-open: one probe at a time).",
		[]string{"state"}, nil)
	redisCounters = []struct {
		desc *prometheus.Desc
		get  func(redis.Stats) int64
	}{
		{redisDesc("errors_total", "Calls to Redis that failed after their retries (the failure mode decided them)."), func(s redis.Stats) int64 { return s.Errors }},
		{redisDesc("round_trips_total", "Script runs sent to Redis."), func(s redis.Stats) int64 { return s.RoundTrips }},
		{redisDesc("replays_total", "Steps sent again after an ambiguous error (never charged twice)."), func(s redis.Stats) int64 { return s.Replays }},
		{redisDesc("breaker_opens_total", "Times the circuit breaker opened."), func(s redis.Stats) int64 { return s.BreakerOpens }},
		{redisDesc("unavailable_total", "Decisions refused because Redis was unreachable (fail-closed)."), func(s redis.Stats) int64 { return s.Refused }},
		{redisDesc("outage_admitted_total", "Calls admitted while Redis was unreachable (fail-open, or degraded's share)."), func(s redis.Stats) int64 { return s.OutageAdmitted }},
		{redisDesc("outage_credits_total", "Credits of the calls admitted while Redis was unreachable."), func(s redis.Stats) int64 { return s.OutageCredits }},
		{redisDesc("reconciled_credits_total", "Outage credits booked to the pools once Redis was back."), func(s redis.Stats) int64 { return s.Reconciled }},
		{redisDesc("unreconciled_credits_total", "Outage credits the pools could not take once Redis was back."), func(s redis.Stats) int64 { return s.Unreconciled }},
		{redisDesc("leases_lost_total", "Concurrency leases found expired at renewal."), func(s redis.Stats) int64 { return s.LeasesLost }},
		{redisDesc("local_decisions_total", "Decisions served from a leased block of credits, with no round trip."), func(s redis.Stats) int64 { return s.Local }},
		{redisDesc("blocks_total", "Blocks of credits leased."), func(s redis.Stats) int64 { return s.Blocks }},
		{redisDesc("given_back_credits_total", "Leased credits given back unspent."), func(s redis.Stats) int64 { return s.GivenBack }},
	}
)

func redisDesc(name, help string) *prometheus.Desc {
	return prometheus.NewDesc("creditgate_redis_"+name, help, nil, nil)
}

func (c redisCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- redisCircuit
	for _, x := range redisCounters {
		ch <- x.desc
	}
}

func (c redisCollector) Collect(ch chan<- prometheus.Metric) {
	now := c.s.Circuit()
	for _, st := range circuitStates {
		v := 0.0
		if st == now {
			v = 1
		}
		ch <- prometheus.MustNewConstMetric(redisCircuit, prometheus.GaugeValue, v, st.String())
	}
	s := c.s.Stats()
	for _, x := range redisCounters {
		ch <- prometheus.MustNewConstMetric(x.desc, prometheus.CounterValue, float64(x.get(s)))
	}
}
