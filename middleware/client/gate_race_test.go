//go:build creditgate_testhooks

package client_test

import (
	"context"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/creditgate/creditgate/middleware/client"
)

// A call's slot given back while the gate's pass is between a waiter's
// refusal for that slot and the pass's count of waiters waiting for
// something shared must still let the waiter in. The count it read was the
// last pass's, 0 for the pass that queued the waiter, so the release
// skipped its pass and the waiter slept until its retry time: for ever on
// a clock that does not move (TestFailFastRefusalBlocksNobody hung so, once,
// under load).
func TestReleaseDuringPassWakesWaiter(t *testing.T) {
	clk := &fakeClock{now: time.Now()}
	tr := newTransport(t, &okRT{}, clk, client.WithPlan(plan(100, 5)))
	held, err := postBulk(tr, "") // the bulk class's only slot
	if err != nil {
		t.Fatal(err)
	}
	var once sync.Once
	released := make(chan chan struct{}, 1)
	defer client.SetPassHook(func() {
		once.Do(func() { released <- closeDuringPass(held) }) // the waiter's first pass, just after its refusal
	})()
	done := make(chan error, 1)
	go func() {
		resp, err := postBulk(tr, "")
		if err == nil {
			err = resp.Body.Close()
		}
		done <- err
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatalf("the waiter was not let in after the slot came back (%d waiting)", tr.Waiters())
	}
	<-<-released
}

// postBulk sends POST /crm/bulk (the bulk class, whose cap is 1) through tr
// as integration it ("" for none).
func postBulk(tr *client.Transport, it string) (*http.Response, error) {
	ctx := context.Background()
	if it != "" {
		ctx = client.WithIntegration(ctx, it)
	}
	r, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://api.test/crm/bulk", nil)
	if err != nil {
		return nil, err
	}
	return tr.RoundTrip(r)
}

// closeDuringPass, called from the pass hook, closes held on a goroutine of
// its own, so that its release runs while the pass holds the gate's lock,
// and waits until the release is done or, as a release that passes must,
// waits for that lock. The channel closes once the release is done.
func closeDuringPass(held *http.Response) chan struct{} {
	released := make(chan struct{})
	go func() {
		_ = held.Body.Close()
		close(released)
	}()
	select {
	case <-released:
	case <-time.After(200 * time.Millisecond):
	}
	return released
}
