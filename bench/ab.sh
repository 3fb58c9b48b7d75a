#!/usr/bin/env bash
# Interleaved A/B of bench binaries built from different commits: what the
# project's own changes to a hot path quote (see README, "Speed").
#
#   git worktree add /tmp/base <commit>; (cd /tmp/base/bench && go test -c -o /tmp/base.test .)
#   go test -c -o /tmp/new.test .
#   bash ab.sh /tmp/ab.txt 10 200ms '^BenchmarkKeyed$/^keys=1$/^impl=creditgate$' /tmp/base.test /tmp/new.test
#   go run ./cmd/abratio /tmp/ab.txt base
#
# usage: ab.sh OUT ROUNDS BENCHTIME "regex1;regex2" /abs/a.test /abs/b.test ...
# Each round runs every binary on every regex at -test.cpu 1 and 2 (or each
# of $CPUS), one after the other, so that a slow phase of the machine falls
# on all of them.
# Each run holds /tmp/bench.lock, so that benchmarks started by others wait.
set -euo pipefail
out=$1 n=$2 bt=$3 res=$4
shift 4
: >"$out"
IFS=';' read -ra RE <<<"$res"
CPUS="${CPUS:-1,2}"
for i in $(seq "$n"); do
  # A one-CPU run is pinned to one vCPU, the same for every binary of a
  # round and the other one the next round: this VM's vCPUs differ by the
  # hour (see run.sh), and an unpinned run's thread may move between them.
  pin=()
  if [ "$(nproc)" -gt 1 ] && command -v taskset >/dev/null; then
    pin=(taskset -c "$(((i - 1) % $(nproc)))")
  fi
  for b in "$@"; do
    for re in "${RE[@]}"; do
      for c in ${CPUS//,/ }; do
        p=()
        if [ "$c" = 1 ]; then p=("${pin[@]}"); fi
        flock /tmp/bench.lock "${p[@]}" "$b" -test.run '^$' -test.bench "$re" -test.benchtime "$bt" \
          -test.cpu "$c" -test.benchmem 2>/dev/null |
          grep '^Benchmark' | sed "s/^/$(basename "$b" .test) r$i /" >>"$out" || true
      done
    done
  done
done
