package gateway

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/creditgate/creditgate/cmd/creditgate/internal/config"
)

// Options are Run's collaborators.
type Options struct {
	Logger *slog.Logger
	Level  *slog.LevelVar // set from the configuration; may be nil
	// Reload re-reads the configuration (file, environment, flags) when
	// Hangup fires.
	Reload func() (*config.Effective, error)
	Hangup <-chan struct{}
}

// Run serves eff until ctx ends, then shuts down gracefully: it stops
// accepting, lets in-flight requests finish for at most timeouts.shutdown,
// saves the snapshot (not with Redis, which holds the state) and delivers
// queued alerts. Each value from o.Hangup
// reloads the configuration; one that does not validate is logged and the
// running one kept.
func Run(ctx context.Context, eff *config.Effective, o Options) error {
	log, c := o.Logger, eff.Config
	g, err := New(eff, log, o.Level)
	if err != nil {
		return err
	}
	snapCfg := g.restore(log, c)
	proxy, admin, err := listen(eff, g, log)
	if err != nil {
		_ = g.Close(context.Background())
		return err
	}
	failed := make(chan error, 2)
	serve := func(s *http.Server, ln net.Listener) {
		if err := s.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			failed <- err
		}
	}
	go serve(proxy.srv, proxy.ln)
	attrs := []any{slog.String("proxy", proxy.ln.Addr().String()), slog.String("upstream", c.Upstream)}
	if admin != nil {
		go serve(admin.srv, admin.ln)
		attrs = append(attrs, slog.String("dashboard", "http://"+admin.ln.Addr().String()+"/dashboard/"))
		if c.Metrics.Enabled {
			attrs = append(attrs, slog.String("metrics", "http://"+admin.ln.Addr().String()+c.Metrics.Path))
		}
	}
	log.Info("listening", attrs...)
	snap := g.startSnapshots(snapCfg)

	// A reload's read runs on a goroutine of its own, one at a time (a
	// SIGHUP during one asks for another after it), so that a read that
	// does not return (a FIFO, a hung mount) cannot keep this loop from a
	// graceful stop; a read still running then is abandoned. reads has
	// room for that read's result, so its goroutine always ends.
	reads := make(chan read, 1)
	busy, again := false, false
	startRead := func() {
		busy = true
		go func() {
			eff, err := o.Reload()
			reads <- read{eff, err}
		}()
	}
	var runErr error
loop:
	for {
		select {
		case <-ctx.Done():
			break loop
		case err := <-failed:
			runErr = err
			break loop
		case <-o.Hangup:
			switch {
			case o.Reload == nil:
			case busy:
				again = true
			default:
				startRead()
			}
		case r := <-reads:
			busy = false
			g.reload(r.eff, r.err)
			if again {
				again = false
				startRead()
			}
		}
	}
	if busy {
		log.Warn("a configuration reload is still reading: abandoned for the stop")
	}
	return errors.Join(runErr, g.shutdown(c.Timeouts.Shutdown, proxy, admin, snap))
}

// read is a reload's re-read configuration, or why there is none.
type read struct {
	eff *config.Effective
	err error
}

// restore restores the snapshot file, if the configuration names one and
// the state is not in Redis, and returns the snapshot settings to run with.
func (g *Gateway) restore(log *slog.Logger, c *config.Config) config.Snapshot {
	snapCfg := c.Snapshot
	if rb, ok := g.st.(*redisBacking); ok {
		rb.ping(log, c.Redis)
		if snapCfg.File != "" {
			// Redis persists itself; a file beside it would restore a
			// stale copy of what every replica shares.
			log.Warn("snapshot.file is not used: Redis holds the state (persist Redis itself: RDB, AOF or replicas)",
				slog.String("file", snapCfg.File))
			snapCfg.File = ""
		}
	}
	if f := snapCfg.File; f != "" {
		switch n, err := removeInterrupted(f); {
		case err != nil:
			log.Warn("temporary files of interrupted snapshot saves not all removed", slog.String("file", f), slog.Int("removed", n), slog.String("error", err.Error()))
		case n > 0:
			log.Warn("removed the temporary files of snapshot saves a crash interrupted", slog.String("file", f), slog.Int("removed", n))
		}
		switch ok, err := restoreSnapshot(g.l, f, time.Now()); {
		case err != nil:
			log.Error("snapshot not restored: starting with full pools", slog.String("file", f), slog.String("error", err.Error()))
		case ok:
			log.Info("snapshot restored", slog.String("file", f))
		}
		if err := probeSave(f); err != nil {
			log.Error("snapshot saves will fail: the state will not survive a restart", slog.String("file", f), slog.String("error", err.Error()))
		}
	}
	return snapCfg
}

// reload applies a re-read configuration, or logs why not (err, the read's).
func (g *Gateway) reload(eff *config.Effective, err error) {
	if err == nil {
		err = g.Reload(eff)
	} else {
		g.m.reloads.WithLabelValues("error").Inc()
	}
	if err != nil {
		g.log.Error("configuration not reloaded: the running one is kept", slog.String("error", err.Error()))
		return
	}
	for _, w := range eff.Warnings {
		g.log.Warn(w)
	}
	g.log.Info("configuration reloaded", slog.String("plan", eff.Default.Name),
		slog.Int64("credits", eff.Default.Credits), slog.Int("tenants", len(eff.Tenants)))
}

type server struct {
	srv *http.Server
	ln  net.Listener
	// cancel ends the context of every request the server serves: the only
	// way to end an upgraded connection, which Shutdown and Close forget.
	cancel context.CancelFunc
}

// listen opens the proxy's and the dashboard's listeners.
func listen(eff *config.Effective, g *Gateway, log *slog.Logger) (proxy, admin *server, err error) {
	c := eff.Config
	mk := func(addr string, h http.Handler) (*server, error) {
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			return nil, err
		}
		t := c.Timeouts
		base, cancel := context.WithCancel(context.Background())
		return &server{ln: ln, cancel: cancel, srv: &http.Server{
			Handler:           h,
			BaseContext:       func(net.Listener) context.Context { return base },
			ReadHeaderTimeout: t.ReadHeader,
			ReadTimeout:       t.Read,
			WriteTimeout:      t.Write,
			IdleTimeout:       t.Idle,
			MaxHeaderBytes:    c.Limits.MaxHeaderBytes,
			ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
		}}, nil
	}
	if proxy, err = mk(c.Listen, g); err != nil {
		return nil, nil, fmt.Errorf("listen: %w", err)
	}
	if c.Dashboard.Enabled {
		if admin, err = mk(c.Dashboard.Address, g.Admin()); err != nil {
			proxy.ln.Close()
			return nil, nil, fmt.Errorf("dashboard: %w", err)
		}
	}
	return proxy, admin, nil
}

// shutdown drains the listeners within timeout, saves the snapshot, and
// closes the gateway.
func (g *Gateway) shutdown(timeout time.Duration, proxy, admin *server, snap *snapshots) error {
	g.log.Info("shutting down: draining in-flight requests", slog.Duration("timeout", timeout))
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	if err := proxy.srv.Shutdown(ctx); err != nil {
		g.log.Warn("drain timed out: closing the connections still open")
		_ = proxy.srv.Close()
	}
	// Shutdown neither waits for nor closes upgraded (hijacked) connections:
	// their handlers, which hold their slots, are waited for here, within
	// the same timeout, then ended through their requests' context (the
	// proxy then closes both sides).
	if !g.waitHandlers(ctx) {
		g.log.Warn("drain timed out: closing the upgraded connections still open", slog.Int64("connections", g.inFlight()))
		proxy.cancel()
		wctx, wcancel := context.WithTimeout(context.Background(), 5*time.Second)
		g.waitHandlers(wctx)
		wcancel()
	}
	proxy.cancel()
	if admin != nil {
		if err := admin.srv.Shutdown(ctx); err != nil {
			_ = admin.srv.Close()
		}
		admin.cancel()
	}
	snap.stop() // after the drain: the last save holds every settled request
	// Whatever the drain left of the budget, queued alerts get a few seconds.
	cctx, ccancel := context.WithTimeout(context.Background(), max(time.Until(deadline(ctx)), 5*time.Second))
	defer ccancel()
	err := g.Close(cctx)
	g.log.Info("stopped")
	return err
}

// waitHandlers waits until no proxy handler runs, or ctx ends (false).
func (g *Gateway) waitHandlers(ctx context.Context) bool {
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for g.inFlight() > 0 {
		select {
		case <-ctx.Done():
			return false
		case <-tick.C:
		}
	}
	return true
}

func deadline(ctx context.Context) time.Time {
	d, _ := ctx.Deadline()
	return d
}

// requireToken lets through requests bearing token (Authorization: Bearer,
// the scheme's name in any case, as the dashboard reads it) and answers
// others 401. The tokens' digests are compared, in constant time: the
// comparison's time says nothing of the token, not even its length.
func requireToken(token string, h http.Handler) http.Handler {
	want := sha256.Sum256([]byte(token))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		scheme, tok, _ := strings.Cut(r.Header.Get("Authorization"), " ")
		got := sha256.Sum256([]byte(strings.TrimLeft(tok, " ")))
		if !strings.EqualFold(scheme, "Bearer") || subtle.ConstantTimeCompare(got[:], want[:]) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="creditgate"`)
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		h.ServeHTTP(w, r)
	})
}
