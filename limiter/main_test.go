package limiter

import (
	"context"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/creditgate/creditgate/store/memory"
	"github.com/creditgate/creditgate/usage"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func testPlan() Plan {
	return Plan{Name: "t", Credits: 100, Concurrency: 2, SubConcurrency: map[string]int64{"bulk": 1}}
}

// withMem is WithStore of a memory store with opts.
func withMem(opts ...memory.Option) Option { return WithStore(memory.New(opts...)) }

func mustNew(t *testing.T, p Plan, opts ...Option) *Limiter {
	t.Helper()
	l, err := New(p, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := l.Close(context.Background()); err != nil {
			t.Error(err)
		}
	})
	return l
}

// newStats returns usage statistics that the test closes when it ends.
func newStats(t testing.TB, retention time.Duration, maxPerDimension int) *usage.Stats {
	u := usage.New(retention, maxPerDimension)
	t.Cleanup(func() { _ = u.Close(context.Background()) })
	return u
}
