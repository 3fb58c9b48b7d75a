package client_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/creditgate/creditgate/limiter"
	"github.com/creditgate/creditgate/middleware/client"
	"github.com/creditgate/creditgate/store/memory"
)

// heldTransport is newTransport over a limiter of plan p on a plain memory
// store, so that held reports the slots the pool's calls hold (the quota
// tenants' aside); every test ends with none held.
func heldTransport(t *testing.T, base http.RoundTripper, clk *fakeClock, p limiter.Plan, opts ...client.Option) (tr *client.Transport, held func() int64) {
	t.Helper()
	ms := memory.New()
	l, err := limiter.New(p, limiter.WithStore(ms))
	require.NoError(t, err)
	t.Cleanup(func() { _ = l.Close(context.Background()) }) // after the Transport's
	held = func() int64 { return ms.Held("") }
	all := append([]client.Option{client.WithClock(clk), client.WithCosts(costs(t)), client.WithLimiter(l),
		client.WithBodyTracking()}, opts...)
	tr = checkedTransport(t, base, all...)
	t.Cleanup(func() { assert.Zero(t, held(), "slots still held") })
	return tr, held
}

// trackedBody is a response body that counts its Closes.
type trackedBody struct {
	io.Reader
	closes atomic.Int64
}

func (b *trackedBody) Close() error { b.closes.Add(1); return nil }

// A base transport that breaks the RoundTripper contract with neither a
// response nor an error gets the caller an error, not a nil dereference
// inside the Transport after the call was admitted: that panic left the
// call's slot and credits held for good.
func TestBaseNilResponseNilError(t *testing.T) {
	clk := newClock()
	var calls atomic.Int64
	ok := &okRT{}
	base := rtFunc(func(r *http.Request) (*http.Response, error) {
		if calls.Add(1) == 1 {
			return nil, nil
		}
		return ok.RoundTrip(r)
	})
	tr, held := heldTransport(t, base, clk, plan(100, 1))
	var err error
	var panicked any
	func() {
		defer func() { panicked = recover() }()
		_, err = get(context.Background(), tr, "", "/crm/Leads")
	}()
	assert.Nil(t, panicked, "no panic")
	assert.Error(t, err, "an error for no response")
	assert.Zero(t, held(), "the slot was given back")
	assert.Equal(t, int64(100), remaining(tr, clk), "credits given back")
	resp, err := get(client.WithFailFast(context.Background()), tr, "", "/crm/Leads")
	require.NoError(t, err, "the slot was given back")
	require.NoError(t, resp.Body.Close())
}

// A base transport that returns both a response and an error: the caller
// gets the error (as from net/http's own client, which ignores such a
// response), the slot and credits come back, and the response's body,
// which nobody else will ever see, is closed so its connection is not
// leaked.
func TestBaseResponseAndError(t *testing.T) {
	clk := newClock()
	body := &trackedBody{Reader: strings.NewReader("half")}
	boom := errors.New("connection reset")
	base := rtFunc(func(r *http.Request) (*http.Response, error) {
		resp := response(r, http.StatusOK, "")
		resp.Body = body
		return resp, boom
	})
	tr, held := heldTransport(t, base, clk, plan(100, 1))
	resp, err := get(context.Background(), tr, "", "/crm/Leads")
	assert.Nil(t, resp)
	assert.ErrorIs(t, err, boom)
	assert.Zero(t, held(), "the slot was given back")
	assert.Equal(t, int64(100), remaining(tr, clk), "credits given back")
	assert.Equal(t, int64(1), body.closes.Load(), "the dropped response's body is closed")
}

// A 429 without a body (Body nil, which net/http's client tolerates from a
// RoundTripper, and hold handles for a success) is retried like any other:
// dropping it before the retry must not call Read on a nil body.
func TestRetry429NilBody(t *testing.T) {
	clk := newClock()
	var calls atomic.Int64
	ok := &okRT{}
	base := rtFunc(func(r *http.Request) (*http.Response, error) {
		if calls.Add(1) == 1 {
			resp := response(r, http.StatusTooManyRequests, "", "Retry-After", "1")
			resp.Body = nil
			return resp, nil
		}
		return ok.RoundTrip(r)
	})
	tr, held := heldTransport(t, base, clk, plan(100, 1))
	var panicked any
	resp, err := advancing(t, clk, 10*time.Second, func() (resp *http.Response, err error) {
		defer func() { panicked = recover() }()
		return get(context.Background(), tr, "", "/crm/Leads")
	})
	require.Nil(t, panicked, "no panic")
	require.NoError(t, err)
	require.NoError(t, resp.Body.Close())
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, int64(2), calls.Load())
	assert.Zero(t, held())
}

// While the pool is still to be learned (no plan, and no response has
// said its size), the pool's credits are a placeholder (window.MaxLimit):
// what a server that says only what is left (X-RateLimit-Remaining, no
// limit) reports is no spending of others. It was counted as external:
// Stats.External (and the usage row of Outside) said a trillion credits
// were spent outside.
func TestLearningPoolRemainingNotExternal(t *testing.T) {
	clk := newClock()
	base := rtFunc(func(r *http.Request) (*http.Response, error) {
		return response(r, http.StatusOK, "{}", "X-Ratelimit-Remaining", "50"), nil
	})
	tr := checkedTransport(t, base, client.WithClock(clk), client.WithBodyTracking())
	mustGet(t, tr, "", "/crm/Leads")
	mustGet(t, tr, "", "/crm/Leads")
	assert.Zero(t, tr.Stats().External, "no spending of others is known")
}

// A pool learned after a response that said only what was left (no
// limit) is not stalled by that response: the placeholder pool brought
// down to X-Ratelimit-Remaining kept its charge of about 1.1e12 credits
// once the limit came, so that a pool of 100 of which the server says 49
// are left was empty until the next day, and every call waited for it.
func TestLearnedPoolNotStalledByPlaceholder(t *testing.T) {
	clk := newClock()
	var n atomic.Int64
	base := rtFunc(func(r *http.Request) (*http.Response, error) {
		if n.Add(1) == 1 {
			return response(r, http.StatusOK, "{}", "X-Ratelimit-Remaining", "50"), nil
		}
		return response(r, http.StatusOK, "{}", "X-Ratelimit-Limit", "100", "X-Ratelimit-Remaining", "49"), nil
	})
	tr := checkedTransport(t, base, client.WithClock(clk), client.WithBodyTracking())
	mustGet(t, tr, "", "/crm/Leads")
	mustGet(t, tr, "", "/crm/Leads")
	require.Equal(t, int64(100), tr.Limiter().Plan("").Credits, "the pool is learned")
	assert.Equal(t, int64(49), remaining(tr, clk), "what the server says is left")
	resp, err := get(client.WithFailFast(context.Background()), tr, "", "/crm/Leads")
	require.NoError(t, err, "credits are left")
	require.NoError(t, resp.Body.Close())
}
