package memory_test

import (
	"testing"

	"go.uber.org/goleak"

	"github.com/creditgate/creditgate/limiter/storetest"
	"github.com/creditgate/creditgate/store"
	"github.com/creditgate/creditgate/store/memory"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestConformance(t *testing.T) {
	for _, c := range []struct {
		name string
		opts []memory.Option
	}{{"default", nil}, {"slots=60", []memory.Option{memory.WithSlots(60)}},
		{"slotcache", []memory.Option{memory.WithSlotCache()}}} {
		t.Run(c.name, func(t *testing.T) {
			storetest.Run(t, storetest.Config[memory.Lease]{
				New: func() store.Store[memory.Lease] { return memory.New(c.opts...) },
				Bounded: func(n int) store.Store[memory.Lease] {
					return memory.New(append(c.opts, memory.WithMaxTenants(n))...)
				},
			})
		})
	}
}
