package limiter_test

import (
	"testing"

	"github.com/creditgate/creditgate/limiter"
	"github.com/creditgate/creditgate/limiter/storetest"
)

func TestMemoryStoreConformance(t *testing.T) {
	storetest.Run(t, func() limiter.Store { return limiter.NewMemoryStore(limiter.StoreSlots(60)) })
	storetest.Run(t, func() limiter.Store { return limiter.NewMemoryStore() })
}
