#!/usr/bin/env bash
# Runs the whole bench suite (our hot paths beside the peers') enough times for
# benchstat, saves the raw output to bench/results/latest.txt and prints the
# ratio table (ours/peer, median ns/op or B/key, with allocs/op) made by
# cmd/ratios, which needs nothing but the standard library.
#
#   bash bench/run.sh                      # COUNT=6 BENCHTIME=1s CPUS=1,2: about 9 min on 2 cores
#   COUNT=3 BENCHTIME=300ms bash bench/run.sh
#   benchstat -col /impl bench/results/latest.txt   # optional, if benchstat is installed
#
# The test binary is built once and run COUNT times over the whole suite (not
# -count=COUNT per benchmark), so that the runs of every implementation are
# spread over the same stretch of time: a burst of load from elsewhere on the
# machine then blurs all of them instead of one. The load average at the start
# and the end is recorded with the results.
set -euo pipefail
cd "$(dirname "$0")"

COUNT="${COUNT:-6}"
BENCHTIME="${BENCHTIME:-1s}"
CPUS="${CPUS:-1,2}"
mkdir -p results
raw=results/latest.txt
tmp="$raw.tmp"
bindir=$(mktemp -d)
trap 'rm -rf "$bindir"' EXIT
go test -c -o "$bindir/bench.test" .
go build -o "$bindir/ratios" ./cmd/ratios

{
  echo "# $(date -u +%Y-%m-%dT%H:%M:%SZ) nproc=$(nproc) loadavg=$(cut -d' ' -f1-3 /proc/loadavg) $(go version) COUNT=$COUNT BENCHTIME=$BENCHTIME CPUS=$CPUS"
  for i in $(seq "$COUNT"); do
    echo "# run $i of $COUNT"
    # Each CPU count is its own process. The one-CPU pass is pinned to one
    # vCPU, a different one each run: on this VM the two vCPUs differ (one
    # ran ours 40 % and the compact floor 18 % slower than the other, in the
    # same minutes, bench/README.md), and an unpinned process's one thread
    # moved between them from one benchmark to the next, so that a row and
    # its peer could be measured on different vCPUs in the same run.
    for c in ${CPUS//,/ }; do
      pin=()
      if [ "$c" = 1 ] && [ "$(nproc)" -gt 1 ] && command -v taskset >/dev/null; then
        v=$(((i - 1) % $(nproc)))
        pin=(taskset -c "$v")
        echo "# -cpu 1 pinned to vCPU $v"
      fi
      "${pin[@]}" "$bindir/bench.test" -test.run='^$' -test.bench='^Benchmark(PoolAcquire|WeightedAcquire|Slot|Keyed|KeyedFull|Middleware|Transport|Floor|KeyedFloor)$' \
        -test.benchtime="$BENCHTIME" -test.count=1 -test.cpu="$c" -test.benchmem -test.timeout=60m
    done
  done
  # Memory per key: each op builds 100,000 keys; one op per run is enough.
  "$bindir/bench.test" -test.run='^$' -test.bench='^BenchmarkMemoryPerKey$' -test.benchtime=1x \
    -test.count="$COUNT" -test.cpu=1 -test.timeout=30m | grep -E '^Benchmark'
  echo "# end $(date -u +%Y-%m-%dT%H:%M:%SZ) loadavg=$(cut -d' ' -f1-3 /proc/loadavg)"
} | tee "$tmp"
mv "$tmp" "$raw"

echo
echo "Measured $(date -u +%Y-%m-%d) on $(nproc) cores ($(go version | cut -d' ' -f3)), COUNT=$COUNT BENCHTIME=$BENCHTIME CPUS=$CPUS; load average (1 min) at start and end: $(grep -o 'loadavg=[0-9.]*' "$raw" | cut -d= -f2 | paste -sd/ -)."
echo
"$bindir/ratios" "$raw" | tee results/latest.md
