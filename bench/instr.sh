#!/usr/bin/env bash
# Instructions per op of one benchmark, counted by valgrind's cachegrind: a
# figure that does not move with the machine's load or its slow phases, to
# set beside ab.sh's timings. When two builds run the same number of
# instructions per op but time apart, the difference is where the code and
# data lie (alignment, cache lines), not work done.
#
#   go test -c -o /tmp/new.test .
#   bash instr.sh 'BenchmarkTransport/impl=creditgate-savings-idle$' /tmp/base.test /tmp/new.test
#
# usage: instr.sh REGEX /abs/a.test /abs/b.test ...
# Anchor each level of REGEX ('^BenchmarkKeyed$/^keys=1$/^impl=creditgate$'):
# go matches each level unanchored, so BenchmarkKeyed also runs KeyedFull.
# Each binary runs REGEX at -test.cpu 1 for N1 and N2 iterations
# (-test.benchtime Nx; $N1, $N2, default 50000 and 150000) with the
# collector off, so that what the setup and the collector run cancels out:
# instr/op = (I(N2) - I(N1)) / (N2 - N1). Needs valgrind (apt-get install
# valgrind). With $LL set to a cache size in bytes (LL=4194304), it also
# simulates a last-level cache of that size (16-way, 64-byte lines) and
# prints its misses per op (reads and writes), a count that, unlike time,
# this VM's load does not move (cmd/memlat finds the size to model).
# Valgrind 3.19 cannot run RDTSCP, which the runtime reaches only
# on contended runtime locks: such a run dies and is tried again.
set -euo pipefail
re=$1
shift
n1=${N1:-50000} n2=${N2:-150000}
count() { # binary iterations -> "instructions last-level-misses"
  local i out sim=(--cache-sim=no)
  if [[ -n ${LL:-} ]]; then
    sim=(--cache-sim=yes "--LL=$LL,16,64")
  fi
  for i in $(seq 40); do
    out=$(GOGC=off GOMAXPROCS=1 GODEBUG=asyncpreemptoff=1 valgrind --tool=cachegrind "${sim[@]}" \
      --cachegrind-out-file=/dev/null "$1" -test.run '^$' -test.bench "$re" \
      -test.benchtime "${2}x" -test.cpu 1 2>&1) || true
    # A run that died after printing some rows (RDTSCP, above) counts
    # only the instructions up to its death: PASS says it ran to the end.
    if grep -q 'ns/op' <<<"$out" && grep -q '^PASS' <<<"$out"; then
      awk '/I +refs/ { gsub(",", "", $4); i = $4 }
        /LL misses/ { gsub(",", "", $4); m = $4 }
        END { print i, m + 0 }' <<<"$out"
      return
    fi
  done
  echo "instr.sh: $1 failed 40 times under valgrind" >&2
  return 1
}
for b in "$@"; do
  read -r a am <<<"$(count "$b" "$n1")"
  read -r z zm <<<"$(count "$b" "$n2")"
  awk -v b="$(basename "$b" .test)" -v a="$a" -v z="$z" -v am="$am" -v zm="$zm" \
    -v n="$((n2 - n1))" -v ll="${LL:-}" 'BEGIN {
      printf "%-24s %8.1f instr/op", b, (z - a) / n
      if (ll != "") printf "  %6.2f last-level misses/op", (zm - am) / n
      printf "\n" }'
done
