package main

import (
	"fmt"
	"strings"
	"testing"
)

const sampleOutput = `goos: linux
goarch: amd64
pkg: github.com/creditgate/creditgate/bench
cpu: Test CPU @ 1 GHz
BenchmarkPoolAcquire/impl=creditgate         	 1000	        10.0 ns/op	       0 B/op	       0 allocs/op
BenchmarkPoolAcquire/impl=creditgate         	 1000	        30.0 ns/op	       0 B/op	       0 allocs/op
BenchmarkPoolAcquire/impl=creditgate         	 1000	        12.0 ns/op	       0 B/op	       0 allocs/op
BenchmarkPoolAcquire/impl=throttled          	 1000	        48.0 ns/op	    0.0125 caserr/op	       0 B/op	       0 allocs/op
BenchmarkPoolAcquire/impl=throttled-2        	 1000	        60.0 ns/op	    0.02 caserr/op	      16 B/op	       1 allocs/op
BenchmarkPoolAcquire/impl=creditgate-2       	 1000	        15.0 ns/op	       0 B/op	       0 allocs/op
BenchmarkKeyed/keys=100000/impl=creditgate-2 	 1000	        50.0 ns/op	       0 B/op	       0 allocs/op
BenchmarkKeyed/keys=100000/impl=ulule-2      	 1000	       200.0 ns/op	      32 B/op	       2 allocs/op
BenchmarkMiddleware/impl=bare                	 1000	        10.0 ns/op	       0 B/op	       0 allocs/op
BenchmarkMiddleware/impl=creditgate          	 1000	        110.0 ns/op	       0 B/op	       0 allocs/op
BenchmarkMiddleware/impl=tollbooth           	 1000	        410.0 ns/op	     632 B/op	      27 allocs/op
BenchmarkMemoryPerKey/kind=window/impl=creditgate  	 1	  100 ns/op	  80.0 B/key	 1 B/op	 1 allocs/op
BenchmarkMemoryPerKey/kind=window/impl=xtimerate   	 1	  100 ns/op	  115.0 B/key	 1 B/op	 1 allocs/op
BenchmarkFloor/impl=atomicadd-2              	 1000	         6.5 ns/op	       0 B/op	       0 allocs/op
PASS
ok  	github.com/creditgate/creditgate/bench	1.0s
`

func TestParseLine(t *testing.T) {
	s, ok := parseLine("BenchmarkKeyed/keys=100000/impl=ulule-2 \t 1000\t 200.5 ns/op\t 32 B/op\t 2 allocs/op")
	if !ok {
		t.Fatal("line not parsed")
	}
	if s.row != "Keyed/keys=100000" || s.impl != "ulule" || s.cpu != 2 {
		t.Fatalf("got row %q impl %q cpu %d", s.row, s.impl, s.cpu)
	}
	if s.metrics["ns/op"] != 200.5 || s.metrics["allocs/op"] != 2 {
		t.Fatalf("metrics %v", s.metrics)
	}
	for _, bad := range []string{
		"BenchmarkFoo-2 \t 1000\t 5 ns/op", // no impl=
		"ok  \tgithub.com/x\t1.0s",
		"BenchmarkFoo/impl=a \t many\t 5 ns/op",
		"--- FAIL: BenchmarkFoo/impl=a",
	} {
		if _, ok := parseLine(bad); ok {
			t.Errorf("parsed %q", bad)
		}
	}
}

func TestMedian(t *testing.T) {
	for _, c := range []struct {
		in   []float64
		want float64
	}{{nil, 0}, {[]float64{3}, 3}, {[]float64{30, 10, 12}, 12}, {[]float64{4, 1, 3, 2}, 2.5}} {
		if got := median(c.in); got != c.want {
			t.Errorf("median(%v) = %v, want %v", c.in, got, c.want)
		}
	}
}

func TestTable(t *testing.T) {
	samples, cpu, err := parse(strings.NewReader(sampleOutput))
	if err != nil || cpu != "Test CPU @ 1 GHz" || len(samples) != 14 {
		t.Fatalf("parse: %d samples, cpu %q, err %v", len(samples), cpu, err)
	}
	var sb strings.Builder
	if err := table(&sb, samples); err != nil {
		t.Fatal(err)
	}
	out := sb.String()
	for _, want := range []string{
		// median of 10, 30, 12 is 12 (30 is 150 % off it); 12/48 = 0.25
		// three runs of ours against one of the peer: no pairs
		"| PoolAcquire [ns/op] | 1 | throttled | 12.0 ±150% | 48.0 | 0.25 | — | 0 | 0 | 1 | CAS errors 1.25% of calls |",
		"| PoolAcquire [ns/op] | 2 | throttled | 15.0 | 60.0 | 0.25 | 0.25 | 0 | 1 | 1 | CAS errors 2.00% of calls |",
		"| Keyed/keys=100000 [ns/op] | 2 | ulule | 50.0 | 200 | 0.25 | 0.25 | 0 | 2 |",
		// overheads over bare: 100 and 400
		"| Middleware (overhead over bare 10.0 ns/op) [ns/op] | 1 | tollbooth | 100 | 400 | 0.25 | 0.25 | 0 | 27 |",
		"| MemoryPerKey/kind=window [B/key] | 1 | xtimerate | 80.0 | 115 | 0.70 | 0.70 | — | — |",
		"| Floor [ns/op] | 2 | atomicadd | — | 6.50 | — | — |",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q\n%s", want, out)
		}
	}
	if p, k := strings.Index(out, "| PoolAcquire"), strings.Index(out, "| Keyed"); p < 0 || k < p {
		t.Errorf("rows not in input order:\n%s", out)
	}
	if strings.Contains(out, "| bare |") {
		t.Errorf("bare listed as a peer:\n%s", out)
	}
}

func TestTableEmpty(t *testing.T) {
	if err := table(&strings.Builder{}, nil); err == nil {
		t.Fatal("no error for input without benchmarks")
	}
}

// The paired column takes ours/peer run by run, each over that run's bare
// baseline: a slow run of both moves it less than the ratio of medians.
func TestTablePaired(t *testing.T) {
	var in strings.Builder
	// Runs of ours, the peer and bare, in run.sh's order; overheads
	// ours 10, 40, 20, 30 and peer 20, 20, 80, 60: per run 0.5, 2, 0.25,
	// 0.5, so the median is 0.5 with quartiles 0.5 and 2, where the
	// medians' overheads are 35-7.5 and 47.5-7.5, a ratio of 0.69.
	for i, v := range [][3]float64{{15, 25, 5}, {45, 25, 5}, {30, 90, 10}, {40, 70, 10}} {
		fmt.Fprintf(&in, "# run %d\n", i+1)
		fmt.Fprintf(&in, "BenchmarkRow/impl=bare 1 %g ns/op\n", v[2])
		fmt.Fprintf(&in, "BenchmarkRow/impl=creditgate 1 %g ns/op\n", v[0])
		fmt.Fprintf(&in, "BenchmarkRow/impl=peer 1 %g ns/op\n", v[1])
	}
	samples, _, err := parse(strings.NewReader(in.String()))
	if err != nil {
		t.Fatal(err)
	}
	var sb strings.Builder
	if err := table(&sb, samples); err != nil {
		t.Fatal(err)
	}
	if want := "| peer | 27.5 ±57% | 40.0 ±89% | 0.69 | 0.50 [0.50-2.00] |"; !strings.Contains(sb.String(), want) {
		t.Errorf("table lacks %q\n%s", want, sb.String())
	}
}

// pinnedOutput is two runs of run.sh with their one-CPU passes pinned to
// vCPU 0 and 1: each run's two-CPU process and the memory rows after the
// last run are not pinned.
const pinnedOutput = `# run 1 of 2
# -cpu 1 pinned to vCPU 0
cpu: Test CPU @ 1 GHz
BenchmarkKeyed/keys=1/impl=creditgate   	 1000	        60.0 ns/op	       0 B/op	       0 allocs/op
BenchmarkKeyed/keys=1/impl=sethvargo    	 1000	        50.0 ns/op	       0 B/op	       0 allocs/op
BenchmarkKeyedFloor/keys=1/impl=compact 	 1000	        20.0 ns/op	       0 B/op	       0 allocs/op
PASS
BenchmarkKeyed/keys=1/impl=creditgate-2 	 1000	        90.0 ns/op	       0 B/op	       0 allocs/op
BenchmarkKeyed/keys=1/impl=sethvargo-2  	 1000	       180.0 ns/op	       0 B/op	       0 allocs/op
PASS
# run 2 of 2
# -cpu 1 pinned to vCPU 1
BenchmarkKeyed/keys=1/impl=creditgate   	 1000	        40.0 ns/op	       0 B/op	       0 allocs/op
BenchmarkKeyed/keys=1/impl=sethvargo    	 1000	        80.0 ns/op	       0 B/op	       0 allocs/op
BenchmarkKeyedFloor/keys=1/impl=compact 	 1000	        20.0 ns/op	       0 B/op	       0 allocs/op
ok  	github.com/creditgate/creditgate/bench	1.0s
BenchmarkKeyed/keys=1/impl=creditgate-2 	 1000	        90.0 ns/op	       0 B/op	       0 allocs/op
BenchmarkKeyed/keys=1/impl=sethvargo-2  	 1000	       180.0 ns/op	       0 B/op	       0 allocs/op
BenchmarkMemoryPerKey/kind=tenant/impl=creditgate  	 1	  100 ns/op	  270.0 B/key	 1 B/op	 1 allocs/op
BenchmarkMemoryPerKey/kind=tenant/impl=sethvargo   	 1	  100 ns/op	  99.0 B/key	 1 B/op	 1 allocs/op
# end
`

// TestByVCPU: the one-CPU rows' ratios per vCPU come from the runs pinned
// to it alone (1.20 on vCPU 0, 0.50 on 1, where the pooled median is
// 0.77); two-CPU rows, the memory rows after the last run, and rows
// without ours (the floors) are left out.
func TestByVCPU(t *testing.T) {
	samples, _, err := parse(strings.NewReader(pinnedOutput))
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	byVCPU(&b, samples)
	out := b.String()
	for _, want := range []string{
		"| row | peer | vCPU 0 | vCPU 1 |",
		"| Keyed/keys=1 [ns/op] | sethvargo | 1.20 (60.0 / 50.0, 1) | 0.50 (40.0 / 80.0, 1) |",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("missing %q in:\n%s", want, out)
		}
	}
	for _, not := range []string{"KeyedFloor", "MemoryPerKey", "180"} {
		if strings.Contains(out, not) {
			t.Errorf("%q in the by-vCPU table:\n%s", not, out)
		}
	}
	// Unpinned input: no table.
	samples, _, _ = parse(strings.NewReader(sampleOutput))
	b.Reset()
	byVCPU(&b, samples)
	if b.Len() != 0 {
		t.Errorf("a by-vCPU table for unpinned runs:\n%s", b.String())
	}
}
