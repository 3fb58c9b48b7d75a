package main

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/creditgate/creditgate/limiter"
)

// progress prints one status line a second until the load ends: rewritten in
// place on a terminal, one plain line each otherwise.
func progress(stop context.Context, out io.Writer, o options, l *limiter.Limiter, res *result,
	alerts <-chan limiter.Alert, loadDone <-chan struct{}) {
	start := time.Now()
	last := start
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		select {
		case <-loadDone:
			return
		case a := <-alerts:
			printAlert(out, o, res, a)
			continue
		case <-tick.C:
		case <-stop.Done():
			if time.Since(last) < 500*time.Millisecond { // the tick just said it
				if o.tty {
					fmt.Fprintln(out)
				}
				return
			}
		}
		last = time.Now()
		d := l.Peek(time.Now(), "")
		var calls, refused int64
		for _, s := range res.stats {
			calls += s.calls.Load()
			refused += s.refused()
		}
		used := d.Limit - d.Remaining
		line := fmt.Sprintf("%3ds  credits %s / %s used (%4.1f%%)  calls %s  429s %s",
			int(time.Since(start).Round(time.Second)/time.Second), group(used), group(d.Limit),
			100*float64(used)/float64(max(d.Limit, 1)), group(calls), group(refused))
		if o.tty {
			fmt.Fprintf(out, "\r%-90s", line)
		} else {
			fmt.Fprintln(out, line)
		}
		if stop.Err() != nil {
			if o.tty {
				fmt.Fprintln(out)
			}
			return
		}
	}
}

func printAlert(out io.Writer, o options, res *result, a limiter.Alert) {
	res.alerts = append(res.alerts, a)
	line := fmt.Sprintf("ALERT: %d%% of the credits used (%s of %s)", a.Threshold, group(a.Used), group(a.Limit))
	if o.tty {
		line = fmt.Sprintf("\r%-90s", line) // over the progress line
	}
	fmt.Fprintln(out, line)
}

// drainAlerts prints the alerts that arrived after the last progress line.
func drainAlerts(out io.Writer, o options, res *result, alerts <-chan limiter.Alert) {
	for {
		select {
		case a := <-alerts:
			printAlert(out, o, res, a)
		default:
			return
		}
	}
}

// summary prints calls, credits and 429s by reason per application; credits,
// calls and refusals come from the server's usage statistics, the 429 split by
// reason from what the clients were told.
func summary(out io.Writer, res *result) {
	fmt.Fprintln(out)
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "application\tcalls\tadmitted\tcredits\t429 concurrency\t429 sub-concurrency\t429 credits\t")
	var calls, ok, credits, conc, sub, cred int64
	for i, app := range res.apps {
		s := res.stats[i]
		u := res.usage[app.name]
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t\n", app.name, group(s.calls.Load()), group(s.ok.Load()),
			group(u.Credits), group(s.concurrency.Load()), group(s.subConc.Load()), group(s.credits.Load()))
		calls += s.calls.Load()
		ok += s.ok.Load()
		credits += u.Credits
		conc += s.concurrency.Load()
		sub += s.subConc.Load()
		cred += s.credits.Load()
	}
	fmt.Fprintf(tw, "total\t%s\t%s\t%s\t%s\t%s\t%s\t\n", group(calls), group(ok), group(credits), group(conc), group(sub), group(cred))
	tw.Flush()
	fmt.Fprintf(out, "\npool: %s of %s credits used in the rolling 24 h window\n", group(res.used), group(res.limit))
}

// group formats n with thousands separators.
func group(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := strings.HasPrefix(s, "-")
	if neg {
		s = s[1:]
	}
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}
