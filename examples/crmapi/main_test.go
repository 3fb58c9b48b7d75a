package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// TestRunShortLoad runs the demo for 2 s and checks the story and the sums:
// the greedy exporter runs into the bulk sub-concurrency cap, the polite web
// form is never refused, and the client's counts agree with the server's
// usage statistics and pool.
func TestRunShortLoad(t *testing.T) {
	var out strings.Builder
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	res, err := run(ctx, options{duration: 2 * time.Second, listen: "127.0.0.1:0", licences: 1}, &out)
	require.NoError(t, err)
	t.Log("\n" + out.String())

	byName := map[string]int{}
	for i, app := range res.apps {
		byName[app.name] = i
	}
	exporter := res.stats[byName["bulk-exporter"]]
	webform := res.stats[byName["web-form"]]
	assert.Positive(t, exporter.subConc.Load(), "14 bulk workers against a cap of 10")
	assert.Positive(t, exporter.ok.Load())
	assert.Zero(t, webform.refused(), "the web form stays under every limit in 2 s")
	assert.Positive(t, webform.ok.Load())
	assert.Equal(t, int64(51_000), res.limit)

	var credits int64
	for i, app := range res.apps {
		s, u := res.stats[i], res.usage[app.name]
		assert.Zero(t, s.failed.Load(), "%s: transport errors or unexpected statuses", app.name)
		assert.Equal(t, s.ok.Load(), u.Calls, "%s: admitted calls, client vs server", app.name)
		assert.Equal(t, s.refused(), u.Refused, "%s: refusals, client vs server", app.name)
		assert.Equal(t, s.calls.Load(), s.ok.Load()+s.refused(), "%s: every call answered 2xx or 429", app.name)
		credits += u.Credits
	}
	assert.Equal(t, res.used, credits, "per-application credits add up to the pool's use")
	assert.Less(t, res.used, res.limit, "2 s cannot drain the pool")

	for _, want := range []string{"dashboard at http://127.0.0.1:", "application", "bulk-exporter", "web-form", "total", "pool: "} {
		assert.Contains(t, out.String(), want)
	}
}

func TestRunRejectsBadOptions(t *testing.T) {
	var out strings.Builder
	_, err := run(context.Background(), options{duration: 0, listen: "127.0.0.1:0", licences: 1}, &out)
	assert.Error(t, err)
	_, err = run(context.Background(), options{duration: time.Second, listen: "127.0.0.1:0", licences: -1}, &out)
	assert.Error(t, err)
	_, err = run(context.Background(), options{duration: time.Second, listen: "not an address", licences: 1}, &out)
	assert.Error(t, err)
}

func TestGroup(t *testing.T) {
	for n, want := range map[int64]string{0: "0", 999: "999", 1000: "1,000", 51000: "51,000", -1234567: "-1,234,567"} {
		assert.Equal(t, want, group(n))
	}
}
