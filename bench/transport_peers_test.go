package bench

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"sync/atomic"
	"testing"

	"github.com/gofri/go-github-ratelimit/v2/github_ratelimit"
	"github.com/hashicorp/go-retryablehttp"
)

// Peers of the transport row: each wraps the same in-memory RoundTripper
// (fakeRT) and sends one GET per op, closing the body; every call must be
// answered 200. cmd/ratios subtracts impl=bare (fakeRT alone) to show the
// overhead. The fake answers with GitHub-style limit headers saying the
// pool is nowhere near spent, which every implementation reads: ours
// reconciles with them, go-github-ratelimit watches them.

// fakeRT answers every request with 200, a body that is at its end, and one
// shared read-only header map.
type fakeRT struct{ h http.Header }

func newFakeRT() *fakeRT {
	big := strconv.FormatInt(bigLimit, 10)
	reset := strconv.FormatInt(t0.Add(period).Unix(), 10)
	return &fakeRT{h: http.Header{"X-Ratelimit-Limit": {big}, "X-Ratelimit-Remaining": {big},
		"X-Ratelimit-Used": {"0"}, "X-Ratelimit-Reset": {reset}, "X-Ratelimit-Resource": {"core"},
		"Content-Type": {"application/json"}}}
}

func (f *fakeRT) RoundTrip(r *http.Request) (*http.Response, error) {
	return &http.Response{StatusCode: http.StatusOK, Header: f.h, Body: io.NopCloser(atEOF{}),
		Request: r, ProtoMajor: 1, ProtoMinor: 1}, nil
}

type atEOF struct{}

func (atEOF) Read([]byte) (int, error) { return 0, io.EOF }

// newTransportRequest is the request of the row: one route, on the context
// the transport reads its caller's integration from (ours; the peers ignore
// it).
func newTransportRequest(ctx context.Context) *http.Request {
	r, _ := http.NewRequestWithContext(ctx, http.MethodGet, "https://api.test/crm/v8/Leads", nil)
	return r
}

// sendOnce is the probe of a transport row.
func sendOnce(rt http.RoundTripper, ctx context.Context) func(int) error {
	return func(int) error {
		resp, err := rt.RoundTrip(newTransportRequest(ctx))
		if err != nil {
			return err
		}
		_ = resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("bench: status %d", resp.StatusCode)
		}
		return nil
	}
}

// transportBench sends one request per op through rt, with a request per
// goroutine reused across its calls, and closes each body.
func transportBench(b *testing.B, rt http.RoundTripper, ctx context.Context) {
	var failed atomic.Int64
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		r := newTransportRequest(ctx)
		for pb.Next() {
			resp, err := rt.RoundTrip(r)
			if err != nil {
				failed.Add(1)
				continue
			}
			if resp.StatusCode != http.StatusOK {
				failed.Add(1)
			}
			_ = resp.Body.Close()
		}
	})
	checkRefused(b, &failed)
}

// newRetryable is go-retryablehttp's client over fakeRT, used as a
// RoundTripper (its own RoundTripper type), without its default logger.
func newRetryable() http.RoundTripper {
	c := retryablehttp.NewClient()
	c.HTTPClient = &http.Client{Transport: newFakeRT()}
	c.Logger = nil
	return &retryablehttp.RoundTripper{Client: c}
}

// newGitHubRatelimit is go-github-ratelimit's transport (primary and
// secondary limits) over fakeRT.
func newGitHubRatelimit() http.RoundTripper { return github_ratelimit.New(newFakeRT()) }

func BenchmarkTransport(b *testing.B) { runRow(b, "Transport") }

func init() {
	bg := context.Background()
	register("Transport", impl{
		name:  "bare",
		probe: func(testing.TB) func(int) error { return sendOnce(newFakeRT(), bg) },
		run:   func(b *testing.B) { transportBench(b, newFakeRT(), bg) },
	})
	register("Transport", impl{
		name:  "retryablehttp",
		probe: func(testing.TB) func(int) error { return sendOnce(newRetryable(), bg) },
		run:   func(b *testing.B) { transportBench(b, newRetryable(), bg) },
	})
	register("Transport", impl{
		name:  "github-ratelimit",
		probe: func(testing.TB) func(int) error { return sendOnce(newGitHubRatelimit(), bg) },
		run:   func(b *testing.B) { transportBench(b, newGitHubRatelimit(), bg) },
	})
}
