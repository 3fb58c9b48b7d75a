package gateway

import (
	"context"
	"fmt"
	"testing"

	"github.com/creditgate/creditgate/cmd/creditgate/internal/config"
)

// A metrics.path that Build accepts must mount: Admin registers it as the
// ServeMux pattern "GET "+path beside /dashboard/, GET /healthz and GET
// /{$}, and ServeMux panics on a pattern that conflicts with one of those or
// does not parse. Build checked only a leading slash and /dashboard/, so
// `serve` with metrics.path: /healthz (or /{, /x/../y, //x, /{a}/{a},
// /{p...}) passed `check` and then panicked at start.
func TestMetricsPathBuildAcceptsOnlyWhatMounts(t *testing.T) {
	for _, p := range []string{"/healthz", "/{$}", "/{", "/x/../metrics", "//metrics", "/{a}/{a}", "/{p...}"} {
		t.Run(p, func(t *testing.T) {
			c, err := config.Parse("m.yaml", []byte(fmt.Sprintf("upstream: http://127.0.0.1:1\nmetrics: {path: %q}\n", p)))
			if err != nil {
				t.Fatal(err)
			}
			eff, err := config.Build(c)
			if err != nil {
				t.Logf("refused: %v", err) // refused with a message: fine
				return
			}
			g, err := New(eff, quiet(), nil)
			if err != nil {
				t.Fatal(err)
			}
			defer func() { _ = g.Close(context.Background()) }()
			defer func() {
				if r := recover(); r != nil {
					t.Errorf("metrics.path %q passed Build, then Admin panicked: %v", p, r)
				}
			}()
			g.Admin()
		})
	}
}

// The paths an operator writes still pass Build and mount.
func TestMetricsPathOrdinaryOnesMount(t *testing.T) {
	for _, p := range []string{"/metrics", "/metrics/", "/internal/prom", "/dashboard", "/_/metrics.txt"} {
		c, err := config.Parse("m.yaml", []byte(fmt.Sprintf("upstream: http://127.0.0.1:1\nmetrics: {path: %q}\n", p)))
		if err != nil {
			t.Fatal(err)
		}
		eff, err := config.Build(c)
		if err != nil {
			t.Errorf("metrics.path %q refused: %v", p, err)
			continue
		}
		g, err := New(eff, quiet(), nil)
		if err != nil {
			t.Fatal(err)
		}
		func() {
			defer func() {
				if r := recover(); r != nil {
					t.Errorf("metrics.path %q: Admin panicked: %v", p, r)
				}
			}()
			g.Admin()
		}()
		_ = g.Close(context.Background())
	}
}
