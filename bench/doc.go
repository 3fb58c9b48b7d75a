// Package bench measures creditgate's hot paths beside the best Go peers for
// the same work, in one go test -bench run, so that every speed claim in the
// docs has a ratio behind it that anyone can reproduce with bash bench/run.sh.
//
// It is its own module so that the root module never depends on the peers.
// Every benchmark fails if a call is refused: a refused fast path must never
// pass for speed, so every implementation is configured with a pool far larger
// than a run can spend (2^40 credits per 24 h), and TestEveryCallAdmitted checks
// that configuration as a plain test in CI.
//
// Sub-benchmarks are named .../impl=NAME so that cmd/ratios can pair ours
// (impl=creditgate) with each peer of the same row.
package bench
