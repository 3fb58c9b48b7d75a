package bench

import (
	"context"
	"strconv"
	"testing"
	"time"
)

// padSink keeps the padding's result alive.
var padSink uint64

// BenchmarkKeyedFloorPadded is the compact floor (see floor_compact_test.go)
// with pad rounds of work in registers after each admission: four
// independent multiply-adds a round, no load or store, nothing the next
// admission waits on. It is not a row of the table (bench/run.sh does not
// run it); it shows why the compact floor costs so little more at 100,000
// keys than at one: its admission is short enough (about 240 instructions
// with the loop) that the processor runs the next call's table lookup while
// this call's miss is outstanding. Padded to a few hundred instructions a
// call, the floor's cost at 100,000 keys rises above its cost at one key by
// about as much as the limiter's does (bench/README.md, "The compact floor
// at 100,000 keys"). Run it alone:
//
//	go test -run '^$' -bench '^BenchmarkKeyedFloorPadded$' -cpu 1 .
func BenchmarkKeyedFloorPadded(b *testing.B) {
	for _, pad := range []int{0, 10, 25, 50} {
		for _, n := range []int{1, 100000} {
			b.Run("pad="+strconv.Itoa(pad)+"/keys="+strconv.Itoa(n), func(b *testing.B) {
				s := newCompactStore(keySet(n))
				now := uint64(time.Now().UnixNano())
				keyedBench(b, n, func(_ context.Context, key string) bool {
					ok := s.admit(key, now)
					x0, x1, x2, x3 := uint64(len(key)), uint64(1), uint64(2), uint64(3)
					for i := range pad {
						u := uint64(i)
						x0, x1, x2, x3 = x0*0x9e3779b97f4a7c15+u, x1*0xbf58476d1ce4e5b9+u, x2*0x94d049bb133111eb+u, x3*0x2545f4914f6cdd1d+u
					}
					if x0^x1^x2^x3 == 1 {
						padSink++
					}
					return ok
				})
			})
		}
	}
}
