package middleware

import (
	"context"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// chromium finds a headless-capable Chromium: $CREDITGATE_CHROMIUM (set by
// scripts/test.sh), else chromium on the PATH. Without one the test fails in CI
// (CI=true) and is skipped, saying so, elsewhere.
func chromium(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("CREDITGATE_CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("headless Chromium is required in CI: apt-get install chromium, or set CREDITGATE_CHROMIUM")
	}
	t.Skip("headless Chromium not found (apt-get install chromium, or set CREDITGATE_CHROMIUM); skipping the browser test outside CI")
	return ""
}

// renderDOM loads url in headless Chromium and returns the DOM after the page's
// script ran (virtual time lets it finish its fetches without real waiting).
func renderDOM(t *testing.T, url string) string {
	t.Helper()
	bin := chromium(t)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin,
		"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--disable-dev-shm-usage", "--user-data-dir="+t.TempDir(),
		"--virtual-time-budget=5000", "--dump-dom", url)
	cmd.WaitDelay = 5 * time.Second
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	require.NoError(t, err, "chromium: %s", stderr.String())
	return string(out)
}

func TestDashboardInBrowser(t *testing.T) {
	chromium(t) // skip or fail before building anything
	e := dashEnv(t)
	srv := httptest.NewServer(Dashboard(e.l, WithToken("tok"),
		WithDashboardClock(func() time.Time { return t0.Add(30 * time.Minute) })))
	defer srv.Close()

	dom := renderDOM(t, srv.URL+"/dashboard/?token=tok&hours=4")
	require.Contains(t, dom, `data-ready="true"`, "the page's script finished; status: %v", htmlTag(t, dom, `id="status"`))

	usage := htmlTag(t, dom, `id="usage-chart"`)
	assert.Equal(t, "20", usage["data-pool"])
	assert.Equal(t, "20", usage["data-used"])
	assert.Equal(t, "4", usage["data-hours"])
	assert.Equal(t, "20", htmlTag(t, dom, `id="used-line"`)["data-total"])
	assert.Equal(t, "20", htmlTag(t, dom, `id="pool-line"`)["data-value"])
	var cum []string
	for _, c := range htmlTags(dom, "circle", "cum") {
		cum = append(cum, c["data-cumulative"])
	}
	assert.Equal(t, []string{"10", "10", "13", "20"}, cum)
	var hourly []string
	for _, g := range htmlTags(dom, "g", "hour-group") {
		hourly = append(hourly, g["data-credits"]+"/"+g["data-refused"])
	}
	assert.Equal(t, []string{"10/0", "0/0", "3/0", "7/1"}, hourly)

	bars := htmlTags(dom, "g", "bar")
	byDim := map[string][]map[string]string{}
	// Bars appear in page order: app, module, ip, user, method.
	for _, dim := range []string{"app", "module", "ip", "user", "method"} {
		start := strings.Index(dom, `id="top-`+dim+`"`)
		end := strings.Index(dom[start:], "</svg>")
		byDim[dim] = htmlTags(dom[start:start+end], "g", "bar")
	}
	assert.NotEmpty(t, bars)
	apps := byDim["app"]
	require.Len(t, apps, 3)
	assert.Equal(t, map[string]string{"class": "bar", "data-rank": "1", "data-key": "exporter",
		"data-credits": "16", "data-calls": "4", "data-refused": "1"}, apps[0])
	assert.Equal(t, "webform", apps[1]["data-key"])
	assert.Equal(t, "3", apps[1]["data-credits"])
	require.Len(t, byDim["user"], 3)
	assert.Equal(t, "bob", byDim["user"][0]["data-key"])
	require.NotEmpty(t, byDim["method"])
	assert.Equal(t, "POST", byDim["method"][0]["data-key"])
	assert.Equal(t, "15", byDim["method"][0]["data-credits"])
	require.NotEmpty(t, byDim["module"])
	assert.Contains(t, dom, ">16</text>", "bar value labels are drawn")
	assert.Contains(t, dom, ">20</b>", "the used-credits figure is shown")

	// A hostile application name is shown as text, never parsed as markup.
	assert.Contains(t, dom, "&lt;img src=x onerror")
	assert.NotContains(t, dom, "<img")

	// Without the token the page loads no data.
	dom = renderDOM(t, srv.URL+"/dashboard/")
	assert.NotContains(t, dom, `data-ready="true"`)
}
