package gateway

import (
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"
)

// deadRedis returns a redis:// URL nothing listens on.
func deadRedis(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return "redis://" + addr
}

// Redis unreachable: fail-closed refuses with 429 (reason unavailable),
// fail-open admits; either way the store's errors and open circuit are
// in the metrics, and the memory store's are not.
func TestRedisUnreachable(t *testing.T) {
	up := upstream(t)
	for _, tc := range []struct {
		mode     string
		admitted int
		refused  float64
	}{{"fail-closed", 0, 5}, {"fail-open", 5, 0}} {
		t.Run(tc.mode, func(t *testing.T) {
			g := newGateway(t, "upstream: "+up.URL+"\nredis: {url: \""+deadRedis(t)+"\", timeout: 50ms, failure: "+tc.mode+"}\n")
			if n := spend(t, g, "", 5); n != tc.admitted {
				t.Fatalf("admitted %d of 5, want %d", n, tc.admitted)
			}
			if v := testutil.ToFloat64(g.m.refused[reasonIndex("unavailable")]); v != tc.refused {
				t.Errorf("refused{reason=unavailable} = %v, want %v", v, tc.refused)
			}
			want := `
# HELP creditgate_redis_circuit The Redis store's circuit breaker: 1 for the state it is in (closed: calls go to Redis; open: they fail at once and the failure mode decides; half-open: one probe at a time).
# TYPE creditgate_redis_circuit gauge
creditgate_redis_circuit{state="closed"} 0
creditgate_redis_circuit{state="half-open"} 0
creditgate_redis_circuit{state="open"} 1
`
			if err := testutil.GatherAndCompare(g.m.reg, strings.NewReader(want), "creditgate_redis_circuit"); err != nil {
				t.Error(err)
			}
			fams, err := g.m.reg.Gather()
			if err != nil {
				t.Fatal(err)
			}
			names := map[string]float64{}
			for _, f := range fams {
				if len(f.Metric) == 1 && f.Metric[0].Counter != nil {
					names[f.GetName()] = f.Metric[0].Counter.GetValue()
				} else {
					names[f.GetName()] = -1
				}
			}
			if names["creditgate_redis_errors_total"] < 3 || names["creditgate_redis_breaker_opens_total"] != 1 {
				t.Errorf("errors %v, breaker opens %v: want at least 3 (the breaker's threshold) and 1",
					names["creditgate_redis_errors_total"], names["creditgate_redis_breaker_opens_total"])
			}
			if _, ok := names["creditgate_store_bytes"]; ok {
				t.Error("the memory store's metrics are reported over Redis")
			}
		})
	}
}

// Without Redis, no Redis metric is exported (nothing would measure it).
func TestNoRedisMetricsWithoutRedis(t *testing.T) {
	g := newGateway(t, "upstream: "+upstream(t).URL+"\n")
	r := httptest.NewRequest(http.MethodGet, "/crm/v8/Leads", nil)
	g.ServeHTTP(httptest.NewRecorder(), r)
	fams, err := g.m.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	seen := false
	for _, f := range fams {
		if strings.HasPrefix(f.GetName(), "creditgate_redis_") {
			t.Errorf("%s exported without Redis", f.GetName())
		}
		seen = seen || f.GetName() == "creditgate_store_bytes"
	}
	if !seen {
		t.Error("no creditgate_store_bytes for the memory store")
	}
}

func reasonIndex(name string) int {
	for i, r := range reasons {
		if r == name {
			return i
		}
	}
	panic(name)
}
