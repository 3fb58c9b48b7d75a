package main

import (
	"context"
	"fmt"
	"io"
	"maps"
	"net/url"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/creditgate/creditgate/cmd/creditgate/internal/config"
	"github.com/creditgate/creditgate/store"
)

func init() {
	register(&command{name: "check", summary: "validate a configuration; print the effective plan and cost table", run: check})
}

func check(_ context.Context, args []string, e *env) int {
	cf := newConfigFlags("check", e.stderr)
	cf.fs.Usage = func() {
		fmt.Fprintln(cf.fs.Output(), "Usage: creditgate check [flags] [CONFIG]\n\nValidates CONFIG (or -config, CREDITGATE_CONFIG, or the built-in default) with the\nenvironment and flags over it, as serve would, and prints the result.")
		cf.fs.PrintDefaults()
	}
	var files []string // flags may come after the file too
	for {
		if code, ok := parseFlags(cf.fs, args, e); !ok {
			return code
		}
		if cf.fs.NArg() == 0 {
			break
		}
		files, args = append(files, cf.fs.Arg(0)), cf.fs.Args()[1:]
	}
	if len(files) > 1 || len(files) == 1 && *cf.file != "" {
		fmt.Fprintln(e.stderr, "check: one configuration file at most")
		return exitConfig
	}
	eff, err := cf.load(strings.Join(files, ""), e.getenv)
	if err != nil {
		fmt.Fprintln(e.stderr, err)
		return exitConfig
	}
	printEffective(e.stdout, eff)
	return exitOK
}

// printEffective prints what a configuration amounts to.
func printEffective(w io.Writer, eff *config.Effective) {
	c := eff.Config
	src := c.File
	if src == "" {
		src = "built-in default"
	}
	fmt.Fprintf(w, "configuration: %s: valid\n", src)
	upstream := c.Upstream
	if upstream == "" {
		upstream = "(none)"
	}
	fmt.Fprintf(w, "listen:   %s -> %s\n", c.Listen, upstream)
	if c.Dashboard.Enabled {
		token := "no token"
		if c.Dashboard.Token != "" {
			token = "token required"
		}
		fmt.Fprintf(w, "admin:    http://%s/dashboard/ (%s)", c.Dashboard.Address, token)
		if c.Metrics.Enabled {
			fmt.Fprintf(w, ", metrics at %s", c.Metrics.Path)
		}
		fmt.Fprintln(w)
	}
	fmt.Fprintf(w, "\nplan:     %s\n", describePlan(eff.Default))
	for _, t := range slices.Sorted(maps.Keys(eff.Tenants)) {
		fmt.Fprintf(w, "tenant %q: %s\n", t, describePlan(eff.Tenants[t]))
	}
	if c.Identity.TenantHeader == "" {
		fmt.Fprintln(w, "tenants:  one pool for every caller (no identity.tenant_header)")
	} else {
		fmt.Fprintf(w, "tenants:  named by header %s\n", c.Identity.TenantHeader)
	}
	printCosts(w, eff)
	fmt.Fprintf(w, "alerts:   %s%%, webhook %s\n", joinInts(c.Alerts.Thresholds), webhookURL(c.Alerts.Webhook.URL))
	switch r := c.Redis; {
	case r.URL != "":
		fmt.Fprintf(w, "state:    shared in Redis at %s (prefix %q, timeout %v, %s", redacted(r.URL), r.Prefix, r.Timeout, r.Failure)
		if r.Failure == "degraded" {
			fmt.Fprintf(w, " over %d instances", r.Instances)
		}
		if r.CreditLeasing > 0 {
			fmt.Fprintf(w, ", credit leasing up to %d", r.CreditLeasing)
		}
		fmt.Fprintln(w, ")\nsnapshot: not used (Redis holds the state)")
	case c.Snapshot.File != "":
		fmt.Fprintf(w, "snapshot: %s, every %v\n", c.Snapshot.File, c.Snapshot.Interval)
	default:
		fmt.Fprintln(w, "snapshot: none (state is lost on restart)")
	}
	for _, warn := range eff.Warnings {
		fmt.Fprintf(w, "warning:  %s\n", warn)
	}
}

// printCosts prints the effective cost table: its profile, its default cost
// and a row per route with where its figure comes from.
func printCosts(w io.Writer, eff *config.Effective) {
	c := eff.Config
	profile := c.Costs.Profile
	if profile != "none" {
		profile += " " + c.Costs.Version
	}
	fmt.Fprintf(w, "\ncost table: %s profile, %d routes; a request no route matches costs %d\n",
		profile, len(eff.Routes), eff.Costs.DefaultCost())
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "  ROUTE\tCREDITS\tCLASS\tUNITS\tFROM")
	for _, r := range eff.Routes {
		class := r.Class
		if class == "" {
			class = "-"
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%d\t%s\n", r.Pattern, r.Cost, class, max(r.Units, 1), r.Source)
	}
	tw.Flush()
	fmt.Fprintln(w)
}

// describePlan says a plan in one line.
func describePlan(p store.Plan) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %d credits per %v", p.Name, p.Credits, p.WindowLength())
	if p.Calendar != nil {
		fmt.Fprintf(&b, " (calendar, reset %v past midnight %s)", p.Calendar.Reset, p.Calendar.Location)
	} else {
		b.WriteString(" (rolling)")
	}
	fmt.Fprintf(&b, ", %d in flight per application", p.Concurrency)
	if len(p.SubConcurrency) > 0 {
		var caps []string
		for _, class := range slices.Sorted(maps.Keys(p.SubConcurrency)) {
			caps = append(caps, fmt.Sprintf("%s %d", class, p.SubConcurrency[class]))
		}
		fmt.Fprintf(&b, ", per class: %s", strings.Join(caps, ", "))
	}
	return b.String()
}

// redacted is a URL with its password, if any, shown as xxxxx.
func redacted(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(a URL that does not parse)"
	}
	return u.Redacted()
}

func joinInts(xs []int) string {
	if len(xs) == 0 {
		return "none"
	}
	s := make([]string, len(xs))
	for i, x := range xs {
		s[i] = fmt.Sprint(x)
	}
	return strings.Join(s, ", ")
}

// webhookURL is the webhook's URL with its password, if any, shown as xxxxx.
func webhookURL(raw string) string {
	if raw == "" {
		return "none"
	}
	return redacted(raw)
}
