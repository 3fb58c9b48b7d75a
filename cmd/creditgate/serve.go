package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/creditgate/creditgate/cmd/creditgate/internal/config"
	"github.com/creditgate/creditgate/cmd/creditgate/internal/gateway"
)

func init() {
	register(&command{name: "serve", summary: "run the gateway in front of an upstream API", run: serve})
}

func serve(ctx context.Context, args []string, e *env) int {
	cf := newConfigFlags("serve", e.stderr)
	cf.fs.Usage = func() {
		fmt.Fprintln(cf.fs.Output(), "Usage: creditgate serve [flags]\n\nRuns the gateway in front of the upstream API with the configuration of -config (or\nCREDITGATE_CONFIG, or the built-in default), the environment and flags over it.")
		cf.fs.PrintDefaults()
	}
	if code, ok := parseFlags(cf.fs, args, e); !ok {
		return code
	}
	if cf.fs.NArg() > 0 {
		fmt.Fprintf(e.stderr, "serve: unexpected argument %q (the file goes after -config)\n", cf.fs.Arg(0))
		return exitConfig
	}
	eff, err := cf.load("", e.getenv)
	if err == nil {
		err = eff.RequireUpstream()
	}
	if err != nil {
		fmt.Fprintln(e.stderr, err)
		return exitConfig
	}
	level := new(slog.LevelVar)
	level.Set(eff.LogLevel)
	log := newLogger(e.stderr, level, eff.Config.Log.Format)
	for _, w := range eff.Warnings {
		log.Warn(w)
	}

	ctx, hangup, stop := signals(ctx)
	defer stop()
	err = gateway.Run(ctx, eff, gateway.Options{
		Logger: log, Level: level, Hangup: hangup,
		Reload: func() (*config.Effective, error) { return cf.load("", e.getenv) },
	})
	if err != nil {
		log.Error("gateway stopped", slog.String("error", err.Error()))
		return exitFail
	}
	return exitOK
}

// signals returns a context that SIGINT and SIGTERM cancel (after which a
// second one kills at once instead of waiting for the drain) and a channel
// that receives once per SIGHUP.
func signals(parent context.Context) (context.Context, <-chan struct{}, func()) {
	ctx, stop := signal.NotifyContext(parent, os.Interrupt, syscall.SIGTERM)
	go func() {
		<-ctx.Done()
		stop()
	}()
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	hangup := make(chan struct{})
	go func() {
		for {
			select {
			case <-hup:
				select {
				case hangup <- struct{}{}:
				case <-ctx.Done():
					return
				}
			case <-ctx.Done():
				return
			}
		}
	}()
	return ctx, hangup, func() {
		signal.Stop(hup)
		stop()
	}
}
