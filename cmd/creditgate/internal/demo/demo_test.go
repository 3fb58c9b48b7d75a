package demo

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// A whole demo in process: it ends cleanly, leaving no goroutine behind
// (TestMain checks), and reports what it ran.
func TestRunEnds(t *testing.T) {
	var out strings.Builder
	if err := Run(context.Background(), Options{Duration: 2 * time.Second, Out: &out, Errs: io.Discard}); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"[1/2] Without the governor", "[2/2] With the governor", "Side by side", "pool used"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
}

func TestRunInterrupted(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	err := Run(ctx, Options{Duration: 20 * time.Second, Savings: true, Out: io.Discard, Errs: io.Discard})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Run = %v, want the context's error", err)
	}
}

func TestRunRefusesShortDuration(t *testing.T) {
	if err := Run(context.Background(), Options{Duration: time.Second, Out: io.Discard}); !errors.Is(err, ErrDuration) {
		t.Fatalf("Run = %v", err)
	}
}

// Off loopback the dashboard needs a token, which goes in its address.
func TestDashboardAddress(t *testing.T) {
	for h, want := range map[string]bool{"127.0.0.1": true, "::1": true, "localhost": true, "0.0.0.0": false, "10.0.0.1": false} {
		if isLoopback(h) != want {
			t.Errorf("isLoopback(%s) = %v", h, !want)
		}
	}
	if got := reachable("127.0.0.1:80"); got != "127.0.0.1:80" {
		t.Errorf("reachable(127.0.0.1:80) = %q", got)
	}
	if got := reachable("[::]:80"); strings.HasPrefix(got, "[::]") || !strings.HasSuffix(got, ":80") {
		t.Errorf("reachable([::]:80) = %q", got)
	}
	d := &demo{admin: "10.0.0.1:9090", token: "abc"}
	if got := d.dashboard("t"); got != "http://10.0.0.1:9090/dashboard/?tenant=t&token=abc" {
		t.Errorf("dashboard = %q", got)
	}
}

// On a terminal the progress line is rewritten in place and ended by the
// next line; elsewhere each status is a line of its own.
func TestPrinter(t *testing.T) {
	var b strings.Builder
	p := &printer{w: &b, tty: true}
	p.status("a")
	p.status("b")
	p.line("done")
	p.end()
	if got := b.String(); got != "\ra\x1b[K\rb\x1b[K\ndone\n" {
		t.Errorf("terminal: %q", got)
	}
	b.Reset()
	p = &printer{w: &b}
	p.status("a")
	p.end()
	p.line("done")
	if got := b.String(); got != "a\ndone\n" {
		t.Errorf("not a terminal: %q", got)
	}
}

func TestGroupAndClock(t *testing.T) {
	for n, want := range map[int64]string{0: "0", 999: "999", 1000: "1,000", 51000: "51,000", -1234567: "-1,234,567"} {
		if got := group(n); got != want {
			t.Errorf("group(%d) = %q", n, got)
		}
	}
	for f, want := range map[float64]string{0: "00:00", 0.2: "04:48", 0.5: "12:00", 1: "24:00"} {
		if got := clock(f); got != want {
			t.Errorf("clock(%v) = %q", f, got)
		}
	}
}
