#!/usr/bin/env bash
# The one command that passes all the tests, on a fresh machine:
#   bash scripts/test.sh
# It installs what the tests need (headless Chromium for the dashboard's browser
# test; redis-server and redis-cli, which store/redis's tests start on loopback
# themselves, a three-node cluster included), then for every Go module in the
# repo: gofmt, go vet, go test -race (which also runs every fuzz target's seed
# corpus), and every benchmark once so none rots. It does not gate on speed.
# The tests build with -tags creditgate_testhooks, which compiles in the
# test hooks that the interleaving tests drive (window, semaphore,
# internal/slots, store/memory, store/redis, middleware/client: see each
# package's hooks.go); the benchmarks build without it, as users do.
set -euo pipefail
cd "$(dirname "$0")/.."

need_pkgs=()
command -v chromium >/dev/null 2>&1 || need_pkgs+=(chromium)
command -v redis-server >/dev/null 2>&1 || need_pkgs+=(redis-server)
command -v redis-cli >/dev/null 2>&1 || need_pkgs+=(redis-tools)
if [ ${#need_pkgs[@]} -gt 0 ]; then
  echo "== installing ${need_pkgs[*]} (Debian packages)"
  if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq "${need_pkgs[@]}" >/dev/null
fi
export CREDITGATE_CHROMIUM="${CREDITGATE_CHROMIUM:-$(command -v chromium)}"

modules=$(find . -name go.mod -not -path './.git/*' -exec dirname {} \; | sort)

echo "== gofmt"
unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))
if [ -n "$unformatted" ]; then echo "gofmt would change:"; echo "$unformatted"; exit 1; fi

for m in $modules; do
  echo "== $m: go vet"
  (cd "$m" && go vet ./... && go vet -tags creditgate_testhooks ./...)
done

for m in $modules; do
  echo "== $m: go test -race -shuffle=on -count=1 -tags creditgate_testhooks"
  (cd "$m" && go test -race -shuffle=on -count=1 -tags creditgate_testhooks -timeout 20m ./...)
done

benchlog=$(mktemp) # not a fixed path: two runs at once must not share it
trap 'rm -f "$benchlog"' EXIT
for m in $modules; do
  echo "== $m: every benchmark once"
  (cd "$m" && go test -run='^$' -bench=. -benchtime=1x -count=1 -timeout 20m ./... >"$benchlog" 2>&1) \
    || { cat "$benchlog"; exit 1; }
  grep -E '^(ok|FAIL|---)' "$benchlog" || true
done
echo "== all tests passed"
