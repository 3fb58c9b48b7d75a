// Command abratio reads the output of bench/ab.sh (lines "build rN
// BenchmarkName iterations ns/op ...") and prints, per benchmark, each
// build's median ns/op and, for every build but the base, the median of its
// per-round ratios to the base with their quartiles: the figure an
// interleaved A/B quotes, which cancels the machine's slow phases that fall
// on both builds of a round.
//
// Usage:
//
//	go run ./cmd/abratio ab.txt [base]
//
// The base is the first build in the file unless named.
package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: abratio FILE [BASE]")
		os.Exit(2)
	}
	f, err := os.Open(os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	defer f.Close()
	base := ""
	if len(os.Args) > 2 {
		base = os.Args[2]
	}
	if err := report(os.Stdout, f, base); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

// runs holds ns/op by benchmark, then build, then round.
type runs map[string]map[string]map[string]float64

// parse reads ab.sh's lines; it returns the runs and the builds in order.
func parse(r io.Reader) (runs, []string, error) {
	rs, builds := runs{}, []string(nil)
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 5 || !strings.HasPrefix(f[2], "Benchmark") {
			continue
		}
		ns, err := strconv.ParseFloat(f[4], 64)
		if err != nil {
			return nil, nil, fmt.Errorf("abratio: %q: %w", sc.Text(), err)
		}
		if !slices.Contains(builds, f[0]) {
			builds = append(builds, f[0])
		}
		if rs[f[2]] == nil {
			rs[f[2]] = map[string]map[string]float64{}
		}
		if rs[f[2]][f[0]] == nil {
			rs[f[2]][f[0]] = map[string]float64{}
		}
		rs[f[2]][f[0]][f[1]] = ns
	}
	return rs, builds, sc.Err()
}

// quartiles returns the median and the lower and upper quartiles of xs
// (sorted in place), as the nearest ranks.
func quartiles(xs []float64) (med, lo, hi float64) {
	slices.Sort(xs)
	n := len(xs)
	med = xs[n/2]
	if n%2 == 0 {
		med = (xs[n/2-1] + xs[n/2]) / 2
	}
	return med, xs[n/4], xs[3*n/4]
}

func report(w io.Writer, r io.Reader, base string) error {
	rs, builds, err := parse(r)
	if err != nil {
		return err
	}
	if len(builds) == 0 {
		return fmt.Errorf("abratio: no benchmark lines")
	}
	if base == "" {
		base = builds[0]
	}
	names := make([]string, 0, len(rs))
	for name := range rs {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		line := []string{fmt.Sprintf("%-50s", name)}
		for _, b := range builds {
			var xs []float64
			for _, v := range rs[name][b] {
				xs = append(xs, v)
			}
			if len(xs) > 0 {
				med, _, _ := quartiles(xs)
				line = append(line, fmt.Sprintf("%s=%.1f", b, med))
			}
		}
		for _, b := range builds {
			if b == base {
				continue
			}
			var ratios []float64
			for round, v := range rs[name][b] {
				if bv, ok := rs[name][base][round]; ok && bv > 0 {
					ratios = append(ratios, v/bv)
				}
			}
			if len(ratios) > 0 {
				med, lo, hi := quartiles(ratios)
				line = append(line, fmt.Sprintf("%s/%s=%.2f[%.2f-%.2f]", b, base, med, lo, hi))
			}
		}
		fmt.Fprintln(w, strings.Join(line, "  "))
	}
	return nil
}
