// Package demo is `creditgate demo`: a fake Zoho-like CRM, the gateway in
// front of it (the handler and dashboard serve builds, on loopback), and
// four simulated integrations that share its credit pool, run first
// without the governor (package middleware/client), then with it, then
// with its credit savings, and compared side by side.
package demo

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/creditgate/creditgate/cmd/creditgate/internal/config"
	"github.com/creditgate/creditgate/cmd/creditgate/internal/gateway"
)

// Options are the demo's flags.
type Options struct {
	// Duration is the whole demo's; each run gets an equal share of it, the
	// length of its day.
	Duration time.Duration
	Savings  bool   // a third run, with the governor's credit savings
	Stay     bool   // keep the dashboard up afterwards, until ctx ends
	Admin    string // the dashboard's address ("" : a free loopback port)
	Token    string // the dashboard's token; generated for an address off loopback
	TTY      bool   // rewrite the progress line in place
	Out      io.Writer
	Errs     io.Writer // the gateway's errors
}

// The pool of every run: Zoho Enterprise's caps, with a pool of 5,000
// credits for a day as long as the run.
const poolCredits = 5000

// ErrDuration is returned for a Duration too short to tell the story.
var ErrDuration = errors.New("demo: -duration must be at least 2s")

// Run runs the demo and prints it to o.Out. ctx ends it early (Ctrl-C) and,
// with Stay, ends the wait afterwards.
func Run(ctx context.Context, o Options) error {
	if o.Duration < 2*time.Second {
		return ErrDuration
	}
	ms := modes[:2]
	if o.Savings {
		ms = modes
	}
	day := o.Duration / time.Duration(len(ms))
	p := &printer{w: o.Out, tty: o.TTY}
	p.line("creditgate demo: four integrations share one credit pool; %d runs of %v (24 hours scaled down to %v), first without the governor, then with it.",
		len(ms), day.Round(100*time.Millisecond), day.Round(100*time.Millisecond))
	d, err := start(o, day)
	if err != nil {
		return err
	}
	defer d.stop()
	d.banner(p, ms)
	var outs []*outcome
	for i, m := range ms {
		out, err := d.runOnce(ctx, p, m, i, len(ms))
		if err != nil {
			return err
		}
		outs = append(outs, out)
	}
	d.summary(p, outs)
	if o.Stay && ctx.Err() == nil {
		p.line("\nThe dashboard stays up at %s (Ctrl-C to stop).", d.dashboard(modes[0].tenant))
		p.line("Its pools refill a day after they were spent (%v here); the usage by application stays.", day.Round(100*time.Millisecond))
		<-ctx.Done()
	}
	return ctx.Err()
}

// demo is the running upstream and gateway.
type demo struct {
	o        Options
	day      time.Duration
	eff      *config.Effective
	g        *gateway.Gateway
	alerts   *alertTap
	base     string // the gateway's URL
	admin    string // the dashboard's host:port
	token    string
	servers  []*http.Server
	finished chan error
}

// start serves the fake CRM and the gateway in front of it on loopback
// ports, and the gateway's dashboard.
func start(o Options, day time.Duration) (*demo, error) {
	d := &demo{o: o, day: day, token: o.Token, finished: make(chan error, 3)}
	if d.o.Admin == "" {
		d.o.Admin = "127.0.0.1:0"
	}
	if host, _, _ := net.SplitHostPort(d.o.Admin); d.token == "" && !isLoopback(host) {
		var b [16]byte
		_, _ = rand.Read(b[:])
		d.token = hex.EncodeToString(b[:])
	}
	crmURL, err := d.serve("127.0.0.1:0", (&crm{scale: float64(day) / float64(10*time.Second)}).routes())
	if err != nil {
		return nil, err
	}
	if d.eff, err = d.config(crmURL); err != nil {
		d.stop()
		return nil, err
	}
	d.alerts = newAlertTap(o.Errs)
	if d.g, err = gateway.New(d.eff, slog.New(d.alerts), nil); err != nil {
		d.stop()
		return nil, err
	}
	proxy, err := d.serve("127.0.0.1:0", d.g)
	if err == nil {
		d.base = proxy
		var admin string
		admin, err = d.serve(d.o.Admin, d.g.Admin())
		d.admin = reachable(admin[len("http://"):])
	}
	if err != nil {
		d.stop()
		return nil, err
	}
	return d, nil
}

// config is the gateway's configuration: serve's defaults (Zoho's v8 cost
// table, its Enterprise caps) with a small pool whose window is the day,
// and a pool per run, named by the X-Org header that the integrations send
// from loopback.
func (d *demo) config(upstream string) (*config.Effective, error) {
	c := config.Default()
	c.Listen, c.Upstream = "127.0.0.1:0", upstream
	credits, window := int64(poolCredits), d.day
	c.Plan.Credits, c.Plan.Window = &credits, &window
	c.Identity.TenantHeader = "X-Org"
	c.Identity.TrustedProxies = []string{"127.0.0.0/8", "::1/128"}
	c.Dashboard.Address, c.Dashboard.Token = d.o.Admin, d.token
	return config.Build(c)
}

// serve serves h on addr until stop and returns its URL.
func (d *demo) serve(addr string, h http.Handler) (string, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return "", fmt.Errorf("demo: %w", err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: time.Minute}
	d.servers = append(d.servers, srv)
	go func() { d.finished <- srv.Serve(ln) }()
	return "http://" + ln.Addr().String(), nil
}

// stop shuts the servers down and closes the gateway.
func (d *demo) stop() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for i := len(d.servers) - 1; i >= 0; i-- {
		if err := d.servers[i].Shutdown(ctx); err != nil {
			_ = d.servers[i].Close()
		}
		<-d.finished
	}
	if d.g != nil {
		_ = d.g.Close(ctx)
	}
}

// dashboard is the dashboard's URL showing tenant's pool.
func (d *demo) dashboard(tenant string) string {
	u := fmt.Sprintf("http://%s/dashboard/?tenant=%s", d.admin, tenant)
	if d.token != "" {
		u += "&token=" + d.token
	}
	return u
}

// reachable names a listener on every interface by this machine's name,
// which a browser can open, rather than by 0.0.0.0 or [::].
func reachable(hostPort string) string {
	host, port, err := net.SplitHostPort(hostPort)
	if ip := net.ParseIP(host); err != nil || ip == nil || !ip.IsUnspecified() {
		return hostPort
	}
	name, err := os.Hostname()
	if err != nil || name == "" {
		name = "localhost"
	}
	return net.JoinHostPort(name, port)
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
