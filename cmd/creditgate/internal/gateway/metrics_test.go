package gateway

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

func counterValue(t *testing.T, c prometheus.Metric) float64 {
	t.Helper()
	var m dto.Metric
	if err := c.Write(&m); err != nil {
		t.Fatal(err)
	}
	switch {
	case m.Counter != nil:
		return m.Counter.GetValue()
	case m.Gauge != nil:
		return m.Gauge.GetValue()
	}
	t.Fatal("not a counter or gauge")
	return 0
}

func TestInFlightBounded(t *testing.T) {
	vec := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "x"}, []string{"app", "class"})
	f := newInFlight(vec, 2)
	for _, app := range []string{"a", "b", "c", "d", "a"} {
		f.gauge(app, "bulk").Inc()
		f.gauge(app, "").Inc()
	}
	if n := len(*f.known.Load()); n != 4 {
		t.Fatalf("known series = %d, want 4 (a, b by two classes)", n)
	}
	if v := counterValue(t, vec.WithLabelValues("other", "bulk")); v != 2 {
		t.Fatalf("other/bulk = %v, want 2 (c and d)", v)
	}
	if v := counterValue(t, vec.WithLabelValues("a", "none")); v != 2 {
		t.Fatalf("a/none = %v", v)
	}
	for range 1000 {
		f.gauge("fresh", "bulk") // past the bound: nothing new is kept
	}
	if n := len(*f.known.Load()); n != 4 {
		t.Fatalf("known series grew to %d", n)
	}
}

func TestLabelValue(t *testing.T) {
	long := strings.Repeat("x", 500)
	a, b := labelValue(long+"1"), labelValue(long+"2")
	if a == b || len(a) > maxLabelBytes+8 || !utf8.ValidString(a) {
		t.Fatalf("long names: %q %q", a, b)
	}
	// Invalid bytes become U+FFFD, three bytes each: the value must still
	// fit.
	if v := labelValue(strings.Repeat("a\xff", 100)); len(v) > maxLabelBytes || !utf8.ValidString(v) {
		t.Fatalf("invalid long name: %d bytes, %q", len(v), v)
	}
	bad := labelValue("caf\xe9")
	if !utf8.ValidString(bad) || bad == labelValue("caf\xe8") {
		t.Fatalf("invalid UTF-8: %q", bad)
	}
	if v := labelValue(other); v == other || !strings.HasPrefix(v, other) {
		t.Fatalf("a name that is the overflow series: %q", v)
	}
	if labelValue("acme") != "acme" {
		t.Fatal("a plain name changed")
	}
}
