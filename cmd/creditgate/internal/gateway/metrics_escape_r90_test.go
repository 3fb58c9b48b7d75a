package gateway

import (
	"context"
	"fmt"
	"testing"

	"github.com/creditgate/creditgate/cmd/creditgate/internal/config"
)

// ServeMux unescapes a pattern's path, so metrics.path /%68ealthz is the
// pattern GET /healthz: it passes Build's metricsPath (a clean literal path,
// not /healthz as written) and Admin panics at start on the conflict, the
// failure 760ca06 closed for /healthz spelt plainly. /%64ashboard/x is
// /dashboard/x, under the dashboard, which Build refuses spelt plainly.
func TestMetricsPathEscapedTwinMounts_r90(t *testing.T) {
	for _, p := range []string{"/%68ealthz", "/%64ashboard/x"} {
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
			t.Errorf("metrics.path %q passed Build: it mounts as the unescaped path, which Build refuses as written", p)
		})
	}
}
