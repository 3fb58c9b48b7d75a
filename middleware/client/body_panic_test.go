package client_test

import (
	"context"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/creditgate/creditgate/middleware/client"
)

// brittleBody is a base body whose Read, Close or both panic.
type brittleBody struct {
	io.Reader
	readPanics, closePanics bool
	closes                  atomic.Int64
}

func (b *brittleBody) Read(p []byte) (int, error) {
	if b.readPanics {
		panic("base body read")
	}
	return b.Reader.Read(p)
}

func (b *brittleBody) Close() error {
	b.closes.Add(1)
	if b.closePanics {
		panic("base body close")
	}
	return nil
}

// brittleRT answers 200 to every call; the first call's body is first.
func brittleRT(first *brittleBody) http.RoundTripper {
	var calls atomic.Int64
	ok := &okRT{}
	return rtFunc(func(r *http.Request) (*http.Response, error) {
		if calls.Add(1) > 1 {
			return ok.RoundTrip(r)
		}
		resp := response(r, http.StatusOK, "")
		first.Reader = strings.NewReader(`{"data":[]}`)
		resp.Body = first
		return resp, nil
	})
}

// heldKinds are the transports whose held bodies differ: the plain one (no
// tracking, no WithMaxHold, no quota) and the long one, with tracking or
// WithMaxHold.
func heldKinds() map[string][]client.Option {
	return map[string][]client.Option{
		"plain":    nil,
		"tracked":  {client.WithBodyTracking()},
		"max hold": {client.WithMaxHold(time.Minute)},
	}
}

// newHeld is newTransport without the body tracking it always adds, so
// that kind decides which held body the calls get.
func newHeld(t *testing.T, base http.RoundTripper, clk *fakeClock, kind []client.Option, opts ...client.Option) *client.Transport {
	t.Helper()
	all := append([]client.Option{client.WithClock(clk), client.WithCosts(costs(t))}, kind...)
	return checkedTransport(t, base, append(all, opts...)...)
}

// panics runs f and reports whether it panicked.
func panics(f func()) bool { return panicValue(f) != nil }

// panicValue runs f and returns what it panicked with.
func panicValue(f func()) (v any) {
	defer func() { v = recover() }()
	f()
	return nil
}

// A held body whose base Close panics gives the call's slot back before the
// panic goes on to the caller: the slot was lost for good, and with a slot
// cap of 1 every later call was refused. A body closed twice gives it back
// once (TestHeldBodyReleasesOnce checks that without panics).
func TestHeldBodyClosePanicGivesBack(t *testing.T) {
	for name, kind := range heldKinds() {
		t.Run(name, func(t *testing.T) {
			clk := newClock()
			body := &brittleBody{closePanics: true}
			tr := newHeld(t, brittleRT(body), clk, kind, client.WithPlan(plan(100, 1)))
			resp, err := get(context.Background(), tr, "", "/crm/Leads")
			require.NoError(t, err)
			assert.True(t, panics(func() { _ = resp.Body.Close() }), "the panic reaches the caller")
			assert.Zero(t, tr.Stats().OpenBodies)
			require.NoError(t, ffGet(t, tr, "", "/crm/Leads"), "the slot was given back")
			// A second Close calls the base's again, and gives back nothing:
			// a call held open still keeps the next one out.
			assert.True(t, panics(func() { _ = resp.Body.Close() }), "the second panic reaches the caller")
			assert.Equal(t, int64(2), body.closes.Load())
			held, err := get(context.Background(), tr, "", "/crm/Leads")
			require.NoError(t, err)
			err = ffGet(t, tr, "", "/crm/Leads")
			require.Error(t, err, "one slot, held: the second Close gave back a slot it did not hold")
			assert.Equal(t, client.ReasonConcurrency, reasonOf(err))
			require.NoError(t, held.Body.Close())
		})
	}
}

// A held body whose base Read panics gives the slot back when the caller
// closes it, as it must (deferred, here, as most callers do).
func TestHeldBodyReadPanicGivesBack(t *testing.T) {
	for name, kind := range heldKinds() {
		t.Run(name, func(t *testing.T) {
			clk := newClock()
			tr := newHeld(t, brittleRT(&brittleBody{readPanics: true}), clk, kind, client.WithPlan(plan(100, 1)))
			resp, err := get(context.Background(), tr, "", "/crm/Leads")
			require.NoError(t, err)
			assert.True(t, panics(func() {
				defer resp.Body.Close()
				_, _ = io.ReadAll(resp.Body)
			}), "the panic reaches the caller")
			require.NoError(t, ffGet(t, tr, "", "/crm/Leads"), "the slot was given back")
		})
	}
}

// A GET that the Transport reads itself, to share its answer with
// coalesced calls or the cache, has no caller to close its body: if the
// base body's Read (or Read and Close) panics there, the Transport gives
// the slot back before the panic goes on. The slot was lost for good.
func TestSharedReadPanicGivesBack(t *testing.T) {
	for name, rule := range map[string]client.Option{
		"coalesce": client.WithCoalescing(client.CoalesceRule{Route: "GET /crm/{module}"}),
		"cache":    client.WithCaching(client.CacheRule{Route: "GET /crm/{module}", TTL: time.Minute}),
	} {
		for _, closeToo := range []bool{false, true} {
			t.Run(name+map[bool]string{false: "", true: ", close panics too"}[closeToo], func(t *testing.T) {
				clk := newClock()
				body := &brittleBody{readPanics: true, closePanics: closeToo}
				tr := newTransport(t, brittleRT(body), clk, client.WithPlan(plan(100, 1)), rule)
				v := panicValue(func() { _, _ = get(context.Background(), tr, "", "/crm/Leads") })
				assert.Equal(t, "base body read", v, "the first panic reaches the caller")
				assert.Zero(t, tr.Stats().OpenBodies)
				require.NoError(t, ffGet(t, tr, "", "/crm/Leads"), "the slot was given back")
				assert.Equal(t, int64(1), body.closes.Load(), "the base body was closed")
			})
		}
	}
}
