// Command ratios reads go test -bench output (from bench/run.sh) and prints a
// markdown table of ratios ours/peer per row: median ns/op (or B/key for the
// memory rows), with allocs/op beside them. It needs nothing but the standard
// library, so it works offline without benchstat.
//
// Usage:
//
//	go run ./cmd/ratios results/latest.txt
//	go test -bench=. ... | go run ./cmd/ratios
//
// A row is a benchmark name without its impl=NAME element and its -cpu
// suffix; impl=creditgate is ours. In rows that have impl=bare (the
// middleware row), the bare handler's median is subtracted from every other
// implementation first, so the ratio compares overheads. When run.sh pinned
// one-CPU passes to vCPUs ("# -cpu 1 pinned to vCPU N" lines), a second
// table gives each one-CPU row's ratio on each vCPU: this VM's vCPUs differ
// by the hour, and ours loses more than the peers on the slower one.
package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"
)

const (
	ours = "creditgate"
	bare = "bare"
)

// sample is one benchmark result line.
type sample struct {
	row, impl string
	cpu       int
	vcpu      int                // the vCPU its process was pinned to, -1 if none
	metrics   map[string]float64 // unit -> value
}

// parse reads benchmark lines and returns the samples plus the "cpu:" header.
func parse(r io.Reader) (samples []sample, cpuModel string, err error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<16), 1<<20)
	vcpu := -1 // set by run.sh's "# -cpu 1 pinned to vCPU N", until that process's output ends
	for sc.Scan() {
		line := sc.Text()
		if m, ok := strings.CutPrefix(line, "cpu: "); ok {
			cpuModel = strings.TrimSpace(m)
			continue
		}
		if strings.HasPrefix(line, "# run ") || line == "PASS" || strings.HasPrefix(line, "ok ") {
			vcpu = -1 // a new run, or the end of the pinned process's output
			continue
		}
		if m, ok := strings.CutPrefix(line, "# -cpu 1 pinned to vCPU "); ok {
			if n, err := strconv.Atoi(strings.TrimSpace(m)); err == nil && n >= 0 {
				vcpu = n
			}
			continue
		}
		if s, ok := parseLine(line); ok {
			s.vcpu = -1
			if s.cpu == 1 {
				s.vcpu = vcpu
			}
			samples = append(samples, s)
		}
	}
	return samples, cpuModel, sc.Err()
}

// parseLine parses "BenchmarkX/a=b/impl=c-2  N  v unit  v unit ...".
func parseLine(line string) (sample, bool) {
	f := strings.Fields(line)
	if len(f) < 4 || !strings.HasPrefix(f[0], "Benchmark") || len(f)%2 != 0 {
		return sample{}, false
	}
	if _, err := strconv.ParseInt(f[1], 10, 64); err != nil {
		return sample{}, false
	}
	name, cpu := f[0], 1
	if i := strings.LastIndexByte(name, '-'); i > 0 {
		if n, err := strconv.Atoi(name[i+1:]); err == nil {
			name, cpu = name[:i], n
		}
	}
	var impl string
	var rest []string
	for _, p := range strings.Split(strings.TrimPrefix(name, "Benchmark"), "/") {
		if v, ok := strings.CutPrefix(p, "impl="); ok {
			impl = v
			continue
		}
		rest = append(rest, p)
	}
	if impl == "" {
		return sample{}, false
	}
	s := sample{row: strings.Join(rest, "/"), impl: impl, cpu: cpu, metrics: map[string]float64{}}
	for i := 2; i+1 < len(f); i += 2 {
		v, err := strconv.ParseFloat(f[i], 64)
		if err != nil {
			return sample{}, false
		}
		s.metrics[f[i+1]] = v
	}
	return s, true
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Sorted(slices.Values(xs))
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// spread is the largest deviation of xs from m, as a fraction of m (like
// benchstat's ±), so that a noisy figure shows as one.
func spread(xs []float64, m float64) float64 {
	if m == 0 {
		return 0
	}
	var d float64
	for _, x := range xs {
		d = max(d, math.Abs(x-m))
	}
	return d / math.Abs(m)
}

type groupKey struct {
	row string
	cpu int
}

// figures holds the medians of one implementation in one group.
type figures struct {
	runs    int
	medians map[string]float64
	spread  map[string]float64   // largest deviation from the median, as a fraction of it
	values  map[string][]float64 // each run's figure, in input order
}

// summarize groups samples by row and cpu and takes each metric's median.
func summarize(samples []sample) (map[groupKey]map[string]figures, []groupKey) {
	raw := map[groupKey]map[string]map[string][]float64{}
	var order []groupKey
	for _, s := range samples {
		k := groupKey{s.row, s.cpu}
		if raw[k] == nil {
			raw[k] = map[string]map[string][]float64{}
			order = append(order, k)
		}
		if raw[k][s.impl] == nil {
			raw[k][s.impl] = map[string][]float64{}
		}
		for u, v := range s.metrics {
			raw[k][s.impl][u] = append(raw[k][s.impl][u], v)
		}
	}
	out := map[groupKey]map[string]figures{}
	for k, impls := range raw {
		out[k] = map[string]figures{}
		for im, units := range impls {
			f := figures{medians: map[string]float64{}, spread: map[string]float64{}, values: units}
			for u, vs := range units {
				m := median(vs)
				f.medians[u] = m
				f.spread[u] = spread(vs, m)
				f.runs = max(f.runs, len(vs))
			}
			out[k][im] = f
		}
	}
	// Rows keep the order of the input (the suite's order); cpus ascend.
	first := map[string]int{}
	for i, k := range order {
		if _, ok := first[k.row]; !ok {
			first[k.row] = i
		}
	}
	slices.SortStableFunc(order, func(a, b groupKey) int {
		if c := first[a.row] - first[b.row]; c != 0 {
			return c
		}
		return a.cpu - b.cpu
	})
	return out, order
}

// primary is the unit a row is compared on.
func primary(row string) string {
	if strings.HasPrefix(row, "MemoryPerKey") {
		return "B/key"
	}
	return "ns/op"
}

func fmtNum(v float64) string {
	switch {
	case v >= 100:
		return strconv.FormatFloat(v, 'f', 0, 64)
	case v >= 10:
		return strconv.FormatFloat(v, 'f', 1, 64)
	}
	return strconv.FormatFloat(v, 'f', 2, 64)
}

// fmtSpread is " ±N%" when the runs of f deviate from the median by 1% or more.
func fmtSpread(f figures, unit string) string {
	if p := 100 * f.spread[unit]; p >= 1 && f.runs > 1 {
		return fmt.Sprintf(" ±%.0f%%", p)
	}
	return ""
}

// paired is the median and quartiles of ours/peer taken run by run: the
// i-th run of ours against the i-th of the peer (and over the i-th bare
// baseline), which bench/run.sh measures within the same process, seconds
// apart. On a shared machine whose speed drifts between runs it is steadier
// than the ratio of the two medians. ok is false unless both (and bare,
// if any) have the same number of runs.
func paired(o, p figures, b *figures, unit string) (med, lo, hi float64, ok bool) {
	ov, pv := o.values[unit], p.values[unit]
	if len(ov) == 0 || len(ov) != len(pv) || (b != nil && len(b.values[unit]) != len(ov)) {
		return 0, 0, 0, false
	}
	rs := make([]float64, 0, len(ov))
	for i := range ov {
		base := 0.0
		if b != nil {
			base = b.values[unit][i]
		}
		if pv[i]-base <= 0 {
			return 0, 0, 0, false
		}
		rs = append(rs, (ov[i]-base)/(pv[i]-base))
	}
	slices.Sort(rs)
	n := len(rs)
	return median(rs), rs[n/4], rs[3*n/4], true
}

// fmtPaired is paired's figure, with its quartiles when there are four runs
// or more.
func fmtPaired(med, lo, hi float64, runs int) string {
	if runs < 4 {
		return fmt.Sprintf("%.2f", med)
	}
	return fmt.Sprintf("%.2f [%.2f-%.2f]", med, lo, hi)
}

func fmtAllocs(v float64) string { return strconv.FormatFloat(v, 'g', 4, 64) }

// notes lists a peer's extra metrics (e.g. throttled's caserr/op).
func notes(f figures) string {
	var ns []string
	for _, u := range slices.Sorted(func(yield func(string) bool) {
		for u := range f.medians {
			if !yield(u) {
				return
			}
		}
	}) {
		switch u {
		case "ns/op", "B/op", "allocs/op", "B/key":
			continue
		case "caserr/op":
			ns = append(ns, fmt.Sprintf("CAS errors %.2f%% of calls", 100*f.medians[u]))
		default:
			ns = append(ns, fmt.Sprintf("%s %s", fmtNum(f.medians[u]), u))
		}
	}
	return strings.Join(ns, "; ")
}

// table writes the markdown ratio table.
func table(w io.Writer, samples []sample) error {
	groups, order := summarize(samples)
	if len(order) == 0 {
		return errors.New("ratios: no benchmark lines with impl=NAME in the input")
	}
	fmt.Fprintln(w, "| row | cpu | peer | ours | peer | ours/peer | paired [quartiles] | allocs/op ours | allocs/op peer | runs | notes |")
	fmt.Fprintln(w, "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---|")
	for _, k := range order {
		g := groups[k]
		unit := primary(k.row)
		label := k.row
		var base float64
		var bf *figures
		if b, ok := g[bare]; ok {
			base, bf = b.medians[unit], &b
			label += fmt.Sprintf(" (overhead over bare %s %s)", fmtNum(base), unit)
		}
		label += " [" + unit + "]"
		o, haveOurs := g[ours]
		peers := slices.Sorted(func(yield func(string) bool) {
			for im := range g {
				if im != ours && im != bare && !yield(im) {
					return
				}
			}
		})
		if len(peers) == 0 && haveOurs {
			peers = []string{""}
		}
		for _, p := range peers {
			ov, pv, ratio, pair, oa := "—", "—", "—", "—", "—"
			if haveOurs {
				ov, oa = fmtNum(o.medians[unit]-base)+fmtSpread(o, unit), fmtAllocs(o.medians["allocs/op"])
			}
			pf, haveP := g[p]
			pa, runs, note := "—", o.runs, ""
			if haveP {
				pv, pa, note = fmtNum(pf.medians[unit]-base)+fmtSpread(pf, unit), fmtAllocs(pf.medians["allocs/op"]), notes(pf)
				if !haveOurs || pf.runs < runs {
					runs = pf.runs // the fewer runs of the pair
				}
				if haveOurs && pf.medians[unit]-base > 0 {
					ratio = fmt.Sprintf("%.2f", (o.medians[unit]-base)/(pf.medians[unit]-base))
				}
				if med, lo, hi, ok := paired(o, pf, bf, unit); haveOurs && ok {
					pair = fmtPaired(med, lo, hi, len(o.values[unit]))
				}
			}
			if unit == "B/key" {
				oa, pa = "—", "—"
			}
			fmt.Fprintf(w, "| %s | %d | %s | %s | %s | %s | %s | %s | %s | %d | %s |\n",
				label, k.cpu, p, ov, pv, ratio, pair, oa, pa, runs, note)
		}
	}
	return nil
}

// byVCPU writes, for each one-CPU row with ours and a peer, ours/peer (the
// ratio of the medians, over the bare baseline where the row has one) on
// each vCPU the one-CPU runs were pinned to. It writes nothing if no run
// was pinned.
func byVCPU(w io.Writer, samples []sample) {
	var vcpus []int
	per := map[int][]sample{}
	for _, s := range samples {
		if s.vcpu < 0 {
			continue
		}
		if per[s.vcpu] == nil {
			vcpus = append(vcpus, s.vcpu)
		}
		per[s.vcpu] = append(per[s.vcpu], s)
	}
	if len(vcpus) == 0 {
		return
	}
	slices.Sort(vcpus)
	groups := map[int]map[groupKey]map[string]figures{}
	var order []groupKey
	for _, v := range vcpus {
		g, o := summarize(per[v])
		groups[v] = g
		for _, k := range o {
			if !slices.Contains(order, k) {
				order = append(order, k)
			}
		}
	}
	fmt.Fprintln(w, "\nOne-CPU rows by the vCPU their runs were pinned to: ours/peer, the ratio of the medians (ours / peer, runs).")
	fmt.Fprintln(w)
	fmt.Fprint(w, "| row | peer |")
	for _, v := range vcpus {
		fmt.Fprintf(w, " vCPU %d |", v)
	}
	fmt.Fprint(w, "\n|---|---|")
	for range vcpus {
		fmt.Fprint(w, "---:|")
	}
	fmt.Fprintln(w)
	for _, k := range order {
		unit := primary(k.row)
		peers := map[string]bool{}
		for _, v := range vcpus {
			for im := range groups[v][k] {
				if im != ours && im != bare {
					peers[im] = true
				}
			}
		}
		hasOurs := false
		for _, v := range vcpus {
			_, ok := groups[v][k][ours]
			hasOurs = hasOurs || ok
		}
		if !hasOurs {
			continue // a floor: nothing of ours to compare
		}
		for _, p := range slices.Sorted(func(yield func(string) bool) {
			for im := range peers {
				if !yield(im) {
					return
				}
			}
		}) {
			fmt.Fprintf(w, "| %s [%s] | %s |", k.row, unit, p)
			for _, v := range vcpus {
				g := groups[v][k]
				o, okO := g[ours]
				pf, okP := g[p]
				base := 0.0
				if b, ok := g[bare]; ok {
					base = b.medians[unit]
				}
				if !okO || !okP || pf.medians[unit]-base <= 0 {
					fmt.Fprint(w, " — |")
					continue
				}
				fmt.Fprintf(w, " %.2f (%s / %s, %d) |", (o.medians[unit]-base)/(pf.medians[unit]-base),
					fmtNum(o.medians[unit]-base), fmtNum(pf.medians[unit]-base), min(o.runs, pf.runs))
			}
			fmt.Fprintln(w)
		}
	}
}

func main() {
	in := io.Reader(os.Stdin)
	if len(os.Args) > 1 {
		f, err := os.Open(os.Args[1])
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		defer f.Close()
		in = f
	}
	samples, cpuModel, err := parse(in)
	if err == nil && cpuModel != "" {
		fmt.Printf("Machine: %s. Median of the runs; ±N%% is the largest deviation of a run from it.\n"+
			"Paired: the median [quartiles] of ours/peer taken run by run.\nRatios below 1 mean ours is faster (or smaller).\n\n", cpuModel)
	}
	if err == nil {
		err = table(os.Stdout, samples)
	}
	if err == nil {
		byVCPU(os.Stdout, samples)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
