//go:build creditgate_testhooks

package memory

import (
	"fmt"
	"testing"
)

// The table of application names holds at most maxNames, also when the
// last free places are taken by first uses that overlap: a name found to
// fit must still fit when it is stored.
func TestAppNamesBoundConcurrentFirstUse(t *testing.T) {
	s := New()
	for i := range maxNames - 1 {
		s.names.of(fmt.Sprint("app-", i))
	}
	namesHook = func() { // the first use of "x" has found room for one more
		namesHook = nil
		for i := range 8 { // other tenants' first uses, at once
			s.names.of(fmt.Sprint("other-", i))
		}
	}
	defer func() { namesHook = nil }()
	if x := s.names.of("x"); x != "x" {
		t.Fatalf("of(x) = %q", x)
	}
	if n := s.names.n.Load(); n > maxNames {
		t.Errorf("%d names kept, more than maxNames (%d)", n, maxNames)
	}
	kept := 0
	s.names.m.Range(func(_, _ any) bool { kept++; return true })
	if kept > maxNames {
		t.Errorf("%d names in the table, more than maxNames (%d)", kept, maxNames)
	}
}
