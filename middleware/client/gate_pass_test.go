//go:build creditgate_testhooks

package client_test

import (
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/creditgate/creditgate/middleware/client"
)

// The pass that a slot given back during a pass brings about serves the
// queue as any pass does: the higher priority first, the lower still
// blocked behind it. The slot comes back during the pass that queues a
// low-priority waiter, while a high-priority one waits for it too. Holds.
func TestReleaseDuringPassKeepsPriority(t *testing.T) {
	clk := newClock()
	tr := newTransport(t, &okRT{}, clk, client.WithPlan(plan(100, 5)), client.WithIntegrations(
		client.Integration{Name: "bi", Priority: 0},
		client.Integration{Name: "forms", Priority: 10}))
	held, err := postBulk(tr, "bi") // the bulk class's only slot
	if err != nil {
		t.Fatal(err)
	}
	bodies := map[string]chan *http.Response{"bi": make(chan *http.Response, 1), "forms": make(chan *http.Response, 1)}
	var wg sync.WaitGroup
	queue := func(it string) {
		wg.Go(func() {
			resp, err := postBulk(tr, it)
			if err != nil {
				t.Error(err)
				close(bodies[it])
				return
			}
			bodies[it] <- resp
		})
	}
	var passes atomic.Int64
	released := make(chan chan struct{}, 1)
	defer client.SetPassHook(func() {
		if passes.Add(1) == 2 { // pass 1 queues forms, pass 2 bi
			released <- closeDuringPass(held)
		}
	})()
	queue("forms")
	eventually(t, "forms queued", func() bool { return tr.Waiters() == 1 && passes.Load() == 1 })
	queue("bi")
	var forms *http.Response
	select {
	case forms = <-bodies["forms"]:
	case <-bodies["bi"]:
		t.Fatal("bi was let in before forms, which has the higher priority")
	case <-time.After(5 * time.Second):
		t.Fatalf("nobody was let in after the slot came back (%d waiting)", tr.Waiters())
	}
	<-<-released
	eventually(t, "bi waits", func() bool { return tr.Waiters() == 1 })
	select {
	case <-bodies["bi"]:
		t.Fatal("bi was let in while forms holds the class's only slot")
	default:
	}
	if forms != nil {
		_ = forms.Body.Close()
	}
	select {
	case resp := <-bodies["bi"]:
		if resp != nil {
			_ = resp.Body.Close()
		}
	case <-time.After(5 * time.Second):
		t.Fatalf("bi was not let in after forms gave the slot back (%d waiting)", tr.Waiters())
	}
	wg.Wait()
}
