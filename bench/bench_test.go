package bench

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"
)

// Shared configuration: every implementation gets the same pool and key counts.
const (
	// bigLimit is the pool every implementation starts with: far more than a
	// run can spend (2^40 calls at 1 ns each take 18 minutes), yet within the
	// range our window promises to support.
	bigLimit = 1 << 40
	// period is the window/interval every keyed implementation uses. A long
	// interval also dodges sethvargo/go-limiter's refill rounding to zero when
	// tokens/interval is huge.
	period = 24 * time.Hour
	// ours is the impl name cmd/ratios divides every peer by.
	ours = "creditgate"
	// manyKeys is the large key count of the keyed and memory rows.
	manyKeys = 100_000
)

// t0 is the instant the clock-free rows run at. Rows whose peers read the
// clock themselves (keyed, middleware) make ours read it too.
var t0 = time.Date(2026, time.January, 5, 9, 0, 0, 0, time.UTC)

// errRefused is what a probe returns when a call was not admitted.
var errRefused = errors.New("bench: call refused")

// impl is one implementation's side of a row.
type impl struct {
	name string
	// probe builds an instance configured exactly as run does and returns one
	// call on it (the i-th of a sequence), for TestEveryCallAdmitted.
	probe func(tb testing.TB) func(i int) error
	// run is the benchmark body.
	run func(b *testing.B)
}

// rows maps a row name to its implementations. Files register into it from
// init, so that a package of ours joins its rows by adding one file.
var rows = map[string][]impl{}

func register(row string, im impl) { rows[row] = append(rows[row], im) }

// sortedImpls returns a row's implementations, ours first, then by name.
func sortedImpls(row string) []impl {
	ims := slices.Clone(rows[row])
	slices.SortFunc(ims, func(a, b impl) int {
		if (a.name == ours) != (b.name == ours) {
			if a.name == ours {
				return -1
			}
			return 1
		}
		return strings.Compare(a.name, b.name)
	})
	return ims
}

func runRow(b *testing.B, row string) {
	ims := sortedImpls(row)
	if len(ims) == 0 {
		b.Skipf("no implementation registered for row %q", row)
	}
	for _, im := range ims {
		b.Run("impl="+im.name, im.run)
	}
}

// keyCounts are the key counts of the keyed rows: 1 and manyKeys, or those
// of $CREDITGATE_BENCH_KEYS (comma-separated, each 1 to manyKeys), which
// shows how each implementation's cost grows with its key count.
var keyCounts = func() []int {
	ks, err := parseKeyCounts(os.Getenv("CREDITGATE_BENCH_KEYS"))
	if err != nil {
		panic(err)
	}
	return ks
}()

// parseKeyCounts parses $CREDITGATE_BENCH_KEYS; "" is the default.
func parseKeyCounts(s string) ([]int, error) {
	if s == "" {
		return []int{1, manyKeys}, nil
	}
	var ks []int
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 || n > manyKeys {
			return nil, fmt.Errorf("bench: CREDITGATE_BENCH_KEYS=%q: %q is not a key count from 1 to %d", s, f, manyKeys)
		}
		if slices.Contains(ks, n) {
			return nil, fmt.Errorf("bench: CREDITGATE_BENCH_KEYS=%q: %d twice", s, n)
		}
		ks = append(ks, n)
	}
	return ks, nil
}

func keyedRow(n int) string { return fmt.Sprintf("Keyed/keys=%d", n) }

// keyedFullRow is the keyed row with ours doing all an admission can: the
// class's sub-concurrency slot and usage recording on top of Keyed's.
func keyedFullRow(n int) string { return fmt.Sprintf("KeyedFull/keys=%d", n) }

// The rows, in the order of the issue (and of the ratio table).

func BenchmarkPoolAcquire(b *testing.B)     { runRow(b, "PoolAcquire") }
func BenchmarkWeightedAcquire(b *testing.B) { runRow(b, "WeightedAcquire") }
func BenchmarkSlot(b *testing.B)            { runRow(b, "Slot") }

func BenchmarkKeyed(b *testing.B) {
	for _, n := range keyCounts {
		b.Run(fmt.Sprintf("keys=%d", n), func(b *testing.B) { runRow(b, keyedRow(n)) })
	}
}

func BenchmarkKeyedFull(b *testing.B) {
	for _, n := range keyCounts {
		b.Run(fmt.Sprintf("keys=%d", n), func(b *testing.B) { runRow(b, keyedFullRow(n)) })
	}
	dropWarm() // the last keyed row: the rows after it run without its keys
}

func BenchmarkMiddleware(b *testing.B) { runRow(b, "Middleware") }
func BenchmarkFloor(b *testing.B)      { runRow(b, "Floor") }

func BenchmarkKeyedFloor(b *testing.B) {
	for _, n := range keyCounts {
		b.Run(fmt.Sprintf("keys=%d", n), func(b *testing.B) { runRow(b, keyedFloorRow(n)) })
	}
}

// TestEveryCallAdmitted checks that each implementation, configured as in its
// benchmark, admits every call of a short sequential loop and of a short
// two-goroutine loop: the fairness condition of the whole suite.
func TestEveryCallAdmitted(t *testing.T) {
	names := slices.Sorted(func(yield func(string) bool) {
		for r := range rows {
			if !yield(r) {
				return
			}
		}
	})
	for _, row := range names {
		for _, im := range sortedImpls(row) {
			if im.probe == nil {
				continue
			}
			t.Run(row+"/impl="+im.name, func(t *testing.T) {
				call := im.probe(t)
				const calls = 2000
				for i := range calls {
					if err := call(i); err != nil {
						t.Fatalf("sequential call %d: %v", i, err)
					}
				}
				var wg sync.WaitGroup
				var refused, other atomic.Int64
				var firstOther atomic.Value
				for g := range 2 {
					wg.Go(func() {
						for i := range calls / 2 {
							switch err := call(calls + g*calls + i); {
							case err == nil:
							case errors.Is(err, errRefused):
								refused.Add(1)
							case errors.Is(err, errTolerated):
								// counted by the benchmark, not a refusal
							default:
								other.Add(1)
								firstOther.CompareAndSwap(nil, err.Error())
							}
						}
					})
				}
				wg.Wait()
				if refused.Load() != 0 || other.Load() != 0 {
					t.Fatalf("concurrent calls: %d refused, %d failed (first: %v)", refused.Load(), other.Load(), firstOther.Load())
				}
			})
		}
	}
}

// errTolerated marks a peer's failure that is not a refusal and that its
// benchmark counts and reports beside its figure (throttled's CAS exhaustion).
var errTolerated = errors.New("bench: tolerated peer error")

// checkRefused fails b if any call was refused.
func checkRefused(b *testing.B, refused *atomic.Int64) {
	b.Helper()
	if n := refused.Load(); n != 0 {
		b.Fatalf("%d of %d calls refused: the configuration is not fair", n, b.N)
	}
}

// goroutineOffset spreads the goroutines of RunParallel over a shared slice
// (costs, keys) so that they do not walk it in lockstep.
var goroutineSeq atomic.Uint64

func goroutineOffset() int { return int(goroutineSeq.Add(1) * 7919) }

var (
	keysOnce sync.Once
	keys     []string
)

// manyKeyStrings returns manyKeys distinct key strings, built once per process
// so that the 100,000-key setups cost nothing after the first.
func manyKeyStrings() []string {
	keysOnce.Do(func() {
		keys = make([]string, manyKeys)
		for i := range keys {
			keys[i] = fmt.Sprintf("tenant-%06d", i)
		}
	})
	return keys
}

// keySet returns the first n keys.
func keySet(n int) []string { return manyKeyStrings()[:n] }

// costs is a pre-generated sequence of weights 1..100 (len a power of two).
var costs = func() []int64 {
	r := rand.New(rand.NewPCG(1, 2))
	c := make([]int64, 1<<12)
	for i := range c {
		c[i] = 1 + r.Int64N(100)
	}
	return c
}()

const costMask = 1<<12 - 1

// TestMain is goleak.VerifyTestMain with the process-wide instances closed
// before the leak check.
func TestMain(m *testing.M) {
	code := m.Run()
	dropWarm()
	if code == 0 {
		// ulule's memory store stops its cleaner only from a finalizer.
		err := goleak.Find(goleak.IgnoreTopFunction("github.com/ulule/limiter/v3/drivers/store/memory.(*cleaner).Run"))
		if err != nil {
			fmt.Fprintln(os.Stderr, "goleak:", err)
			code = 1
		}
	}
	os.Exit(code)
}

func TestParseKeyCounts(t *testing.T) {
	if ks, err := parseKeyCounts(""); err != nil || !slices.Equal(ks, []int{1, manyKeys}) {
		t.Errorf(`parseKeyCounts("") = %v, %v; want [1 %d]`, ks, err, manyKeys)
	}
	if ks, err := parseKeyCounts("1, 1000,100000"); err != nil || !slices.Equal(ks, []int{1, 1000, 100000}) {
		t.Errorf("parseKeyCounts(1, 1000,100000) = %v, %v", ks, err)
	}
	for _, bad := range []string{"0", "-5", "100001", "x", "1,,2", "10,10", ","} {
		if ks, err := parseKeyCounts(bad); err == nil {
			t.Errorf("parseKeyCounts(%q) = %v, want an error", bad, ks)
		}
	}
}
