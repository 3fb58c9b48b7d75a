package main

import (
	"strings"
	"testing"
)

// The ratio is taken per round before the median, so a slow round that
// falls on both builds cancels: here round 2 is three times as slow for
// both, and the new build is 0.5 of the base in every round.
func TestReportPairsRounds(t *testing.T) {
	in := `base r1 BenchmarkX-2 100 10.0 ns/op
new r1 BenchmarkX-2 100 5.0 ns/op
base r2 BenchmarkX-2 100 30.0 ns/op
new r2 BenchmarkX-2 100 15.0 ns/op
base r3 BenchmarkX-2 100 12.0 ns/op
new r3 BenchmarkX-2 100 6.0 ns/op
noise line
`
	var out strings.Builder
	if err := report(&out, strings.NewReader(in), ""); err != nil {
		t.Fatal(err)
	}
	got := out.String()
	for _, want := range []string{"base=12.0", "new=6.0", "new/base=0.50[0.50-0.50]"} {
		if !strings.Contains(got, want) {
			t.Errorf("output %q lacks %q", got, want)
		}
	}
}

func TestQuartiles(t *testing.T) {
	med, lo, hi := quartiles([]float64{4, 1, 3, 2})
	if med != 2.5 || lo != 2 || hi != 4 {
		t.Errorf("quartiles = %v %v %v, want 2.5 2 4", med, lo, hi)
	}
	if med, _, _ := quartiles([]float64{3, 1, 2}); med != 2 {
		t.Errorf("median of 3 = %v, want 2", med)
	}
}

func TestReportNoLines(t *testing.T) {
	if err := report(&strings.Builder{}, strings.NewReader("junk\n"), ""); err == nil {
		t.Error("no error for input without benchmark lines")
	}
}
