package storetest_test

import (
	"testing"

	"go.uber.org/goleak"

	"github.com/creditgate/creditgate/limiter/storetest"
	"github.com/creditgate/creditgate/store"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestReferenceConformance(t *testing.T) {
	storetest.Run(t, storetest.Config[storetest.RefLease]{
		New: func() store.Store[storetest.RefLease] { return storetest.NewReference() },
	})
}
