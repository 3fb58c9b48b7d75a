package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"syscall"

	"github.com/creditgate/creditgate/cmd/creditgate/internal/config"
	"github.com/creditgate/creditgate/cmd/creditgate/internal/gateway"
)

func init() {
	register(&command{name: "bare", hidden: true, run: bare,
		summary: "a bare reverse proxy with serve's transport and timeouts, no limits (the load test's baseline)"})
}

// bare serves a plain httputil.ReverseProxy with the same transport and
// server settings as serve, so that the load test measures what the limiter,
// the middleware and the metrics add, and nothing else.
func bare(ctx context.Context, args []string, e *env) int {
	fs := flag.NewFlagSet("bare", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	listen := fs.String("listen", "127.0.0.1:0", "address to listen on")
	upstream := fs.String("upstream", "", "URL to proxy to")
	if err := fs.Parse(args); err != nil {
		return exitConfig
	}
	u, err := url.Parse(*upstream)
	if err != nil || u.Host == "" {
		fmt.Fprintln(e.stderr, "bare: -upstream needs an http:// URL")
		return exitConfig
	}
	d := config.Default()
	log := slog.New(slog.NewJSONHandler(e.stderr, nil))
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		fmt.Fprintln(e.stderr, "bare:", err)
		return exitFail
	}
	t := d.Timeouts
	srv := &http.Server{
		Handler:           gateway.NewProxy(u, gateway.NewTransport(t), log, nil),
		ReadHeaderTimeout: t.ReadHeader, ReadTimeout: t.Read, WriteTimeout: t.Write, IdleTimeout: t.Idle,
		MaxHeaderBytes: d.Limits.MaxHeaderBytes,
	}
	log.Info("listening", slog.String("proxy", ln.Addr().String()), slog.String("upstream", *upstream))
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		<-ctx.Done()
		_ = srv.Shutdown(context.Background())
	}()
	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		fmt.Fprintln(e.stderr, "bare:", err)
		return exitFail
	}
	return exitOK
}
