package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/creditgate/creditgate/cmd/creditgate/internal/demo"
)

func init() {
	register(&command{name: "demo", run: runDemo,
		summary: "show in 30 s why the governor matters: a fake CRM, the gateway, four integrations, without the governor and with it"})
}

func runDemo(ctx context.Context, args []string, e *env) int {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	o := demo.Options{Out: e.stdout, Errs: e.stderr}
	fs.DurationVar(&o.Duration, "duration", 30*time.Second, "how long the whole demo runs (each run's day gets an equal share)")
	fs.BoolVar(&o.Savings, "savings", true, "a third run with the governor's credit savings (caching, coalescing, batching)")
	fs.BoolVar(&o.Stay, "stay", false, "keep the dashboard up afterwards, until interrupted")
	fs.StringVar(&o.Admin, "dashboard", "127.0.0.1:0", "the dashboard's address (off loopback, a token is printed)")
	fs.StringVar(&o.Token, "dashboard-token", e.getenv("CREDITGATE_DASHBOARD_TOKEN"), "the dashboard's token (env CREDITGATE_DASHBOARD_TOKEN)")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "Usage: creditgate demo [flags]\n\nRuns a fake Zoho-like CRM, the gateway in front of it and four integrations that share its\ncredit pool, without the governor, with it, and with its credit savings (-savings), and\nprints the runs side by side.")
		fs.PrintDefaults()
	}
	if code, ok := parseFlags(fs, args, e); !ok {
		return code
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(e.stderr, "demo: unexpected argument %q\n", fs.Arg(0))
		return exitConfig
	}
	if f, ok := e.stdout.(*os.File); ok {
		if fi, err := f.Stat(); err == nil && fi.Mode()&os.ModeCharDevice != 0 {
			o.TTY = true
		}
	}
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	switch err := demo.Run(ctx, o); {
	case err == nil, errors.Is(err, context.Canceled) && o.Stay:
		return exitOK
	case errors.Is(err, demo.ErrDuration):
		fmt.Fprintln(e.stderr, err)
		return exitConfig
	case errors.Is(err, context.Canceled):
		fmt.Fprintln(e.stderr, "demo: interrupted")
		return exitFail
	default:
		fmt.Fprintln(e.stderr, "demo:", err)
		return exitFail
	}
}
