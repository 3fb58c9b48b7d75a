package redis

import (
	"testing"

	"github.com/creditgate/creditgate/limiter/storetest"
	"github.com/creditgate/creditgate/store"
)

// The conformance suite drives fake times: the stores honour them.
func TestConformance(t *testing.T) {
	c := client(t, shared.addr())
	for _, tc := range []struct {
		name string
		opts []Option
	}{{"default", nil}, {"slots=60", []Option{WithSlots(60)}}} {
		t.Run(tc.name, func(t *testing.T) {
			storetest.Run(t, storetest.Config[Lease]{
				New: func() store.Store[Lease] { return newStore(t, c, append(tc.opts, WithClientTime())...) },
			})
		})
	}
}
