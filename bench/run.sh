#!/usr/bin/env bash
# Runs the whole bench suite (our hot paths beside the peers') enough times for
# benchstat, saves the raw output to bench/results/latest.txt and prints the
# ratio table (ours/peer, median ns/op or B/key, with allocs/op) made by
# cmd/ratios, which needs nothing but the standard library.
#
#   bash bench/run.sh                      # COUNT=6 BENCHTIME=1s, about 10 min on 2 cores
#   COUNT=3 BENCHTIME=300ms bash bench/run.sh
#   benchstat bench/results/latest.txt    # optional, if benchstat is installed
set -euo pipefail
cd "$(dirname "$0")"

COUNT="${COUNT:-6}"
BENCHTIME="${BENCHTIME:-1s}"
CPUS="${CPUS:-1,2}"
mkdir -p results
raw=results/latest.txt
tmp="$raw.tmp"

{
  echo "# $(date -u +%Y-%m-%dT%H:%M:%SZ) nproc=$(nproc) $(go version) COUNT=$COUNT BENCHTIME=$BENCHTIME CPUS=$CPUS"
  go test -run='^$' -bench='^Benchmark(PoolAcquire|WeightedAcquire|Slot|Keyed|Middleware|Floor)$' \
    -benchtime="$BENCHTIME" -count="$COUNT" -cpu="$CPUS" -timeout=60m .
  # Memory per key: each op builds 100,000 keys; one op per run is enough.
  go test -run='^$' -bench='^BenchmarkMemoryPerKey$' -benchtime=1x -count="$COUNT" -cpu=1 -timeout=30m . |
    grep -E '^Benchmark'
} | tee "$tmp"
mv "$tmp" "$raw"

echo
echo "Measured $(date -u +%Y-%m-%d) on $(nproc) cores ($(go version | cut -d' ' -f3)), COUNT=$COUNT BENCHTIME=$BENCHTIME:"
echo
go run ./cmd/ratios "$raw" | tee results/latest.md
