#!/usr/bin/env bash
# Load test of the gateway: `creditgate serve` beside a bare
# httputil.ReverseProxy (`creditgate bare`: the same transport and server
# settings, no limiter) in front of the same upstream, driven by wrk in
# alternating rounds on loopback. Reports requests/s of each, their ratio, and
# the p50/p99 latency the gateway adds. Not run by scripts/test.sh.
#
#   bash scripts/gateway-load.sh
#   ROUNDS=5 DURATION=15s CONNECTIONS=64 THREADS=2 DELAY=1ms bash scripts/gateway-load.sh
#
# The gateway runs the Zoho v8 cost table and usage statistics as in
# production, with a pool too large to run out (the test measures what the
# decision costs, not refusals). Targets: >= 90 % of the bare proxy's
# requests/s, <= 10 % added to its p99.
set -euo pipefail
cd "$(dirname "$0")/.."

ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-10s}
CONNECTIONS=${CONNECTIONS:-32}
THREADS=${THREADS:-2}
DELAY=${DELAY:-0s}          # upstream work per request
PATH_UNDER_TEST=${PATH_UNDER_TEST:-/crm/v8/Leads}

if ! command -v wrk >/dev/null 2>&1; then
  echo "== installing wrk (Debian package)"
  if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq wrk >/dev/null
fi

work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

echo "== building"
(cd cmd/creditgate && go build -o "$work/creditgate" . && go build -o "$work/upstream" ./internal/loadupstream)

# wait_for FILE PATTERN: the first match of PATTERN in FILE, within 10 s.
wait_for() {
  for _ in $(seq 100); do
    if m=$(grep -o -m1 "$2" "$1" 2>/dev/null); then echo "$m"; return 0; fi
    sleep 0.1
  done
  echo "no $2 in $1:" >&2; cat "$1" >&2; return 1
}

"$work/upstream" -delay "$DELAY" >"$work/upstream.out" 2>&1 &
pids+=($!)
upstream="http://$(wait_for "$work/upstream.out" '127\.0\.0\.1:[0-9]*')"

cat >"$work/gateway.yaml" <<EOF
listen: 127.0.0.1:0
plan: {edition: enterprise, credits: 1000000000000, concurrency: 100000}
dashboard: {address: 127.0.0.1:0}
log: {format: json}
EOF
"$work/creditgate" serve -config "$work/gateway.yaml" -upstream "$upstream" >"$work/gateway.log" 2>&1 &
pids+=($!)
gateway_pid=$!
gateway="http://$(wait_for "$work/gateway.log" '"proxy":"[^"]*"' | cut -d'"' -f4)"

"$work/creditgate" bare -upstream "$upstream" >"$work/bare.log" 2>&1 &
pids+=($!)
bare_pid=$!
bare="http://$(wait_for "$work/bare.log" '"proxy":"[^"]*"' | cut -d'"' -f4)"

# us VALUE: a wrk latency (850.00us, 1.23ms, 2.00s) in microseconds.
us() {
  awk -v v="$1" 'BEGIN {
    n = v + 0; u = v; sub(/^[0-9.]+/, "", u)
    if (u == "ms") n *= 1000; else if (u == "s") n *= 1000000; else if (u == "m") n *= 60000000
    printf "%.1f", n }'
}

# cpu PID: the process's user+system CPU time so far, in clock ticks.
cpu() { awk '{print $14 + $15}' "/proc/$1/stat"; }

# run NAME URL PID: one wrk round; appends "rps p50 p99 cpu" to $work/NAME,
# cpu being the proxy process's CPU time per request in microseconds (less
# sensitive than requests/s to what else the machine runs).
run() {
  local out="$work/$1.wrk" c0 c1
  c0=$(cpu "$3")
  wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" --latency "$2$PATH_UNDER_TEST" >"$out"
  c1=$(cpu "$3")
  if grep -q "Non-2xx" "$out"; then echo "$1: non-2xx responses:"; cat "$out"; exit 1; fi
  local rps p50 p99 n cpu_us
  rps=$(awk '/^Requests\/sec:/ {print $2}' "$out")
  p50=$(us "$(awk '$1 == "50%" {print $2}' "$out")")
  p99=$(us "$(awk '$1 == "99%" {print $2}' "$out")")
  n=$(awk '/requests in/ {print $1}' "$out")
  cpu_us=$(awk -v t=$((c1 - c0)) -v n="$n" -v hz="$(getconf CLK_TCK)" 'BEGIN {printf "%.1f", t * 1e6 / hz / n}')
  echo "$rps $p50 $p99 $cpu_us" >>"$work/$1"
  printf "  %-7s %10.0f req/s   p50 %8.1f us   p99 %8.1f us   proxy CPU %6.1f us/request\n" "$1" "$rps" "$p50" "$p99" "$cpu_us"
}

echo "== load before: $(cut -d' ' -f1-3 /proc/loadavg); $(nproc) CPUs"
echo "== warm-up"
wrk -t1 -c8 -d2s "$bare$PATH_UNDER_TEST" >/dev/null
wrk -t1 -c8 -d2s "$gateway$PATH_UNDER_TEST" >/dev/null
echo "== $ROUNDS rounds of wrk -t$THREADS -c$CONNECTIONS -d$DURATION, alternating (upstream delay $DELAY)"
for i in $(seq "$ROUNDS"); do
  echo "round $i"
  run bare "$bare" "$bare_pid"
  run gateway "$gateway" "$gateway_pid"
done
echo "== load after: $(cut -d' ' -f1-3 /proc/loadavg)"

# median COLUMN FILE
median() { cut -d' ' -f"$1" "$2" | sort -g | awk '{a[NR] = $1} END {print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2}'; }
b_rps=$(median 1 "$work/bare"); g_rps=$(median 1 "$work/gateway")
b50=$(median 2 "$work/bare"); g50=$(median 2 "$work/gateway")
b99=$(median 3 "$work/bare"); g99=$(median 3 "$work/gateway")
bc=$(median 4 "$work/bare"); gc=$(median 4 "$work/gateway")
awk -v bc="$bc" -v gc="$gc" -v rounds="$ROUNDS" -v br="$b_rps" -v gr="$g_rps" -v b50="$b50" -v g50="$g50" -v b99="$b99" -v g99="$g99" 'BEGIN {
  printf "== medians of %s rounds\n", rounds
  printf "  bare     %10.0f req/s   p50 %8.1f us   p99 %8.1f us   proxy CPU %6.1f us/request\n", br, b50, b99, bc
  printf "  gateway  %10.0f req/s   p50 %8.1f us   p99 %8.1f us   proxy CPU %6.1f us/request\n", gr, g50, g99, gc
  printf "  requests/s ratio gateway/bare: %.3f (target >= 0.90)\n", gr / br
  printf "  proxy CPU per request gateway/bare: %.3f\n", gc / bc
  printf "  added p50: %+.1f us (%+.1f %%)   added p99: %+.1f us (%+.1f %%, target <= +10 %%)\n", g50 - b50, 100 * (g50 - b50) / b50, g99 - b99, 100 * (g99 - b99) / b99
}'
