package limiter

import (
	"fmt"
	"testing"

	"github.com/creditgate/creditgate/store/memory"
)

// TestReleaseTwiceAfterReuse (held): a ticket released twice, the second
// time after its pooled state serves another admission of the same tenant
// (slots0 only: the store's Release shortcut, 7a323df), gives back nothing
// of that admission's: it still holds its slot, the cap still binds, and
// once it is released nothing is held. With and without a slot cache.
func TestReleaseTwiceAfterReuse(t *testing.T) {
	for _, cached := range []bool{false, true} {
		t.Run(fmt.Sprint("cache=", cached), func(t *testing.T) {
			var opts []memory.Option
			if cached {
				opts = append(opts, memory.WithSlotCache())
			}
			l := mustNew(t, Plan{Name: "p", Credits: 100, Concurrency: 1}, withMem(opts...))
			ms := l.Store().(*memory.Store)
			req := Request{Tenant: "t", App: "a", Credits: 1}
			first, d := l.Acquire(t0, req)
			if !d.Allowed || !first.Release() {
				t.Fatalf("first: %+v", d)
			}
			second, d := l.Acquire(t0, req)
			if !d.Allowed {
				t.Fatalf("second refused: %+v", d)
			}
			if first.Release() {
				t.Fatal("the first ticket released again")
			}
			if h := ms.Held("t"); h != 1 {
				t.Fatalf("Held %d with the second call in flight, want 1", h)
			}
			if third, d := l.Acquire(t0, req); d.Allowed {
				third.Release()
				t.Fatalf("a second call in flight under a cap of 1: %+v", d)
			}
			if !second.Release() || second.Release() {
				t.Fatal("the second ticket's releases")
			}
			assertNoSlotsHeld(t, l)
		})
	}
}
