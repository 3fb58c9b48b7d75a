// Command memlat measures this machine's load latency by working-set size: a
// pointer chase through a random cycle of 64-byte lines, one dependent load
// at a time, so no prefetcher helps. Where the latency steps up is where a
// working set stops fitting a cache level; the keyed rows at 100,000 keys
// are read against it (see bench/README.md).
//
//	go run ./cmd/memlat            # sizes from 256 KiB to 128 MiB
//	go run ./cmd/memlat -mib 4,16,32
package main

import (
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"time"
)

const line = 64

func main() {
	list := flag.String("mib", "0.25,0.5,1,2,4,8,12,16,24,32,48,64,128", "working-set sizes in MiB, comma-separated")
	loads := flag.Int("loads", 20_000_000, "dependent loads timed per size")
	flag.Parse()
	fmt.Println("MiB\tns/load")
	for _, f := range strings.Split(*list, ",") {
		mib, err := strconv.ParseFloat(strings.TrimSpace(f), 64)
		if err != nil || mib <= 0 || mib > 4096 {
			fmt.Fprintf(os.Stderr, "memlat: %q is not a size in MiB (0 to 4096)\n", f)
			os.Exit(2)
		}
		fmt.Printf("%g\t%.1f\n", mib, chase(int(mib*(1<<20))/line, *loads))
	}
}

// chase builds one random cycle over n lines and times loads steps of it.
func chase(n, loads int) float64 {
	words := line / 8
	mem := make([]uint64, n*words)
	order := rand.Perm(n)
	for i := range n {
		mem[order[i]*words] = uint64(order[(i+1)%n] * words)
	}
	p := uint64(0)
	for range n { // warm: one lap
		p = mem[p]
	}
	start := time.Now()
	for range loads {
		p = mem[p]
	}
	el := time.Since(start)
	if p == 1 { // keep p live
		fmt.Print("")
	}
	return float64(el.Nanoseconds()) / float64(loads)
}
