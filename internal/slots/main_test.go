package slots

import (
	"testing"

	"go.uber.org/goleak"
)

// The tests start goroutines (churn, the cache's workers): none may outlive them.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
