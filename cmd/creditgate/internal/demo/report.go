package demo

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/creditgate/creditgate/profile/zoho"
	"github.com/creditgate/creditgate/usage"
)

// printer writes the demo's lines; on a terminal, a progress line is
// rewritten in place until a line ends it.
type printer struct {
	w   io.Writer
	tty bool

	mu      sync.Mutex // serialises writes
	pending bool       // a progress line is on screen, not ended
}

// line prints a line (ending a progress line on screen first).
func (p *printer) line(format string, args ...any) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.pending {
		fmt.Fprintln(p.w)
		p.pending = false
	}
	fmt.Fprintf(p.w, format+"\n", args...)
}

// end ends a progress line on screen.
func (p *printer) end() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.pending {
		fmt.Fprintln(p.w)
		p.pending = false
	}
}

// status shows a progress line: in place on a terminal, else as a line.
func (p *printer) status(s string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.tty {
		fmt.Fprintf(p.w, "\r%s\x1b[K", s)
		p.pending = true
		return
	}
	fmt.Fprintln(p.w, s)
}

// banner says what is about to happen.
func (d *demo) banner(p *printer, ms []mode) {
	pl := d.eff.Default
	p.line("The pool: %s credits a day, %d calls in flight per application, %d of its complex APIs (bulk, COQL, conversion, mail) at once (Zoho CRM Enterprise's caps, its v8 cost table).",
		group(pl.Credits), pl.Concurrency, pl.SubConcurrency[zoho.ClassComplex])
	p.line("The integrations (each its own application at the gateway):")
	for _, it := range integrations() {
		p.line("  %-7s %s", it.name, it.does)
	}
	titles := make([]string, len(ms))
	for i, m := range ms {
		titles[i] = m.tenant
	}
	p.line("Watch the web forms: without the governor the export drains the pool and the forms are refused for the rest of the day; with it they are all served.")
	p.line("Dashboard: %s", d.dashboard(ms[0].tenant))
	p.line("  (the gateway's own, as serve mounts it, up while the demo runs (-stay keeps it); each run is a tenant: %s)", strings.Join(titles, ", "))
}

// progress shows the run's state until stop closes: every 200 ms in place
// on a terminal, else at each quarter of the day, and once more when its
// work is done.
func (d *demo) progress(p *printer, r *run, stop <-chan struct{}) {
	every, quarter := 200*time.Millisecond, r.length/4
	if !p.tty {
		every = quarter
	}
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		select {
		case <-stop: // the day's work is done: its final figures
			p.status(d.progressLine(r))
			p.end()
			return
		case <-tick.C:
			if time.Since(r.start) < r.length-every/4 {
				p.status(d.progressLine(r))
			}
		}
	}
}

func (d *demo) progressLine(r *run) string {
	now := time.Now()
	pool := d.g.Limiter().Peek(now, r.tenant)
	var refused int64
	for _, c := range d.g.Limiter().Usage().Top(r.tenant, usage.App, r.start.Add(-time.Hour), now.Add(time.Hour), 100) {
		refused += c.Refused
	}
	elapsed := min(now.Sub(r.start), r.length)
	arrived := int64(0)
	for i := range visitors {
		if r.at((float64(i) + 0.25) / visitors).Before(now) {
			arrived++
		}
	}
	forms := r.counts["forms"].done.Load()
	alert := ""
	if h := d.alerts.highest(r.tenant); h > 0 {
		alert = fmt.Sprintf(" (alert %d%%)", h)
	}
	return fmt.Sprintf("  %4.1fs  day %s  pool %s/%s%s  forms served %d/%d  429s %s",
		elapsed.Seconds(), clock(min(float64(elapsed)/float64(r.length), 1)),
		group(pool.Limit-pool.Remaining), group(pool.Limit), alert, forms, arrived, group(refused))
}

// summary prints the runs side by side per integration, then the story.
func (d *demo) summary(p *printer, outs []*outcome) {
	p.line("\nSide by side (credits, calls and 429s as the gateway counted them):\n")
	head := fmt.Sprintf("%-26s", "")
	for _, o := range outs {
		head += fmt.Sprintf("%14s", o.title)
	}
	p.line("%s", head)
	for i, it := range integrations() {
		p.line("%s: %s", it.name, it.does)
		cells := func(label string, f func(r row) string) {
			s := fmt.Sprintf("  %-24s", label)
			for _, o := range outs {
				s += fmt.Sprintf("%14s", f(o.rows[i]))
			}
			p.line("%s", s)
		}
		cells(it.unit, func(r row) string { return fmt.Sprintf("%d/%d", r.done, r.want) })
		cells("credits", func(r row) string { return group(r.credits) })
		cells("calls", func(r row) string { return group(r.calls) })
		cells("429s", func(r row) string { return group(r.refused) })
		cells("retries", func(r row) string { return group(r.retries) })
		cells("waits (by the governor)", func(r row) string { return dash(r.waits) })
		cells("credits saved", func(r row) string { return dash(r.saved) })
	}
	s := fmt.Sprintf("%-26s", "pool used")
	for _, o := range outs {
		s += fmt.Sprintf("%14s", group(o.used)+"/"+group(o.limit))
	}
	p.line("%s\n", s)
	for _, o := range outs {
		if n := sum(o.rows, func(r row) int64 { return r.failed }); n > 0 {
			p.line("(%s: %d calls got no answer from the gateway; the figures above miss them.)", o.title, n)
		}
	}
	for _, l := range story(outs) {
		p.line("%s", l)
	}
}

// story tells in words what the table shows.
func story(outs []*outcome) []string {
	const export, forms = 1, 2 // in integrations()
	var lines []string
	for _, o := range outs {
		f, e := o.rows[forms], o.rows[export]
		switch {
		case !o.governs && o.drained >= 0:
			lines = append(lines, fmt.Sprintf("Without the governor the export spent the pool by %s, and every call after that was refused: %d of %d web forms were served, and the API sent %s 429s.",
				clock(o.drained), f.done, f.want, group(sum(o.rows, func(r row) int64 { return r.refused }))))
		case !o.governs:
			lines = append(lines, fmt.Sprintf("Without the governor %d of %d web forms were served.", f.done, f.want))
		case !o.saves:
			refused := "and the API refused nothing"
			if n := sum(o.rows, func(r row) int64 { return r.refused }); n > 0 {
				refused = fmt.Sprintf("and the API sent %s 429s", group(n))
			}
			lines = append(lines, fmt.Sprintf("With the governor the export kept to its quota, half the pool (%s credits; its other %d bulk reads wait for tomorrow's credits): %d of %d web forms were served, %s.",
				group(e.credits), e.want-e.done, f.done, f.want, refused))
		default:
			lines = append(lines, fmt.Sprintf("With the savings the same work took %s credits: %s saved, by caching metadata, coalescing reads and batching single-record writes.",
				group(o.used), group(sum(o.rows, func(r row) int64 { return max(r.saved, 0) }))))
		}
	}
	return lines
}

func sum(rows []row, f func(row) int64) int64 {
	var n int64
	for _, r := range rows {
		n += f(r)
	}
	return n
}

// dash is n, or "-" for a figure that does not apply (negative).
func dash(n int64) string {
	if n < 0 {
		return "-"
	}
	return group(n)
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
