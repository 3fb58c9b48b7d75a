package client_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/creditgate/creditgate/limiter"
	"github.com/creditgate/creditgate/middleware/client"
	"github.com/creditgate/creditgate/profile/zoho"
)

const insertRoute = "POST /crm/v8/{module}"

// answer is what one caller of a write got.
type answer struct {
	status int
	body   string
	err    error
}

// result decodes the one record result of a one-record answer.
func (a answer) result(t *testing.T) map[string]any {
	t.Helper()
	var out struct{ Data []map[string]any }
	require.NoError(t, json.Unmarshal([]byte(a.body), &out), a.body)
	require.Len(t, out.Data, 1, a.body)
	return out.Data[0]
}

// writes sends bodies concurrently as method url (integration it, none if
// ""), each answer at its body's index.
func writes(tr http.RoundTripper, ctx context.Context, method, url string, bodies []string) []answer {
	out := make([]answer, len(bodies))
	var wg sync.WaitGroup
	for i, b := range bodies {
		wg.Go(func() {
			st, body, err := send(ctx, tr, method, url, "ann", b)
			out[i] = answer{st, body, err}
		})
	}
	wg.Wait()
	return out
}

func leads(n int, first int, fields ...string) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = lead(first+i, append([]string{"Last_Name", fmt.Sprint("L", first+i)}, fields...)...)
	}
	return out
}

// Single-record writes from many goroutines go as one call; each caller
// gets its own record's result, as a one-record answer.
func TestBatchOneCall(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		crm := newCRM(t)
		crm.latency = 50 * time.Millisecond
		tr := newZoho(t, crm, client.WithBatching(client.BatchRule{Route: insertRoute}))
		start := time.Now()
		got := writes(tr, context.Background(), "POST", "/crm/v8/Leads", leads(25, 1))
		assert.Equal(t, 55*time.Millisecond, time.Since(start), "the window, then the call")
		for i, a := range got {
			require.NoError(t, a.err)
			assert.Equal(t, 201, a.status)
			r := a.result(t)
			assert.Equal(t, "success", r["status"])
			assert.EqualValues(t, i+1, r["details"].(map[string]any)["Seq"], "its own record's result")
		}
		assert.Equal(t, []int{25}, crm.batchSizes())
		assert.Empty(t, crm.dupes())
		_, credits := crm.spent()
		assert.Equal(t, int64(3), credits)
		s := stat(tr, client.DefaultIntegration)
		assert.Equal(t, client.Saving{Calls: 24, Credits: 22}, s.Saved.Batched)
		assert.Equal(t, int64(25), s.Requests)
		assert.Equal(t, int64(3), s.Credits)
	})
}

// A batch carries at most MaxRecords records.
func TestBatchMaxRecords(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		crm := newCRM(t)
		tr := newZoho(t, crm, client.WithBatching(client.BatchRule{Route: insertRoute}))
		got := writes(tr, context.Background(), "POST", "/crm/v8/Leads", leads(250, 1))
		for _, a := range got {
			require.NoError(t, a.err)
			require.Equal(t, 201, a.status)
		}
		sizes := crm.batchSizes()
		slices.Sort(sizes)
		assert.Equal(t, []int{50, 100, 100}, sizes)
		_, credits := crm.spent()
		assert.Equal(t, int64(25), credits)
		assert.Equal(t, client.Saving{Calls: 247, Credits: 225}, tr.Stats().Saved.Batched)
	})
}

// A partly failed batch (207) answers each caller with its own record's
// result: an error as Zoho answers a one-record call (400, its JSON path
// renumbered), a success with the status of a one-record call.
func TestBatchPartialFailure(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		crm := newCRM(t)
		tr := newZoho(t, crm, client.WithBatching(zoho.BatchRules("v8", 0)...))
		bodies := leads(10, 1)
		bodies[3], bodies[7] = lead(4), lead(8) // no Last_Name
		got := writes(tr, context.Background(), "POST", "/crm/v8/Leads/upsert", bodies)
		for i, a := range got {
			require.NoError(t, a.err)
			r := a.result(t)
			if i == 3 || i == 7 {
				assert.Equal(t, 400, a.status)
				assert.Equal(t, "MANDATORY_NOT_FOUND", r["code"])
				assert.Equal(t, "$.data[0].Last_Name", r["details"].(map[string]any)["json_path"])
				continue
			}
			assert.Equal(t, 200, a.status, "an upsert of one record answers 200")
			assert.EqualValues(t, i+1, r["details"].(map[string]any)["Seq"])
		}
		assert.Equal(t, []int{10}, crm.batchSizes())

		// All fail: 400 for each.
		for _, a := range writes(tr, context.Background(), "POST", "/crm/v8/Leads", []string{lead(20), lead(21)}) {
			require.NoError(t, a.err)
			assert.Equal(t, 400, a.status)
			assert.Equal(t, "MANDATORY_NOT_FOUND", a.result(t)["code"])
		}
		assert.Empty(t, crm.dupes())
	})
}

// A batch that fails as a whole gives every caller that failure, and is
// never sent again: no write is duplicated.
func TestBatchWholeFailure(t *testing.T) {
	boom := errors.New("connection reset")
	whole := func(status int, body string) func(r *http.Request) (*http.Response, error) {
		return func(r *http.Request) (*http.Response, error) {
			return jsonResponse(r, status, json.RawMessage(body)), nil
		}
	}
	for _, tc := range []struct {
		name   string
		fail   func(r *http.Request) (*http.Response, error)
		status int
		err    error
	}{
		{"401", whole(401, `{"code":"INVALID_TOKEN","details":{},"message":"invalid oauth token","status":"error"}`), 401, nil},
		{"500", whole(500, `{"code":"INTERNAL_ERROR","details":{},"message":"internal error","status":"error"}`), 500, nil},
		{"invalid module, one result", whole(400, `{"data":[{"code":"INVALID_MODULE","details":{"resource_path_index":0},"message":"bad module","status":"error"}]}`), 400, nil},
		{"transport error", func(*http.Request) (*http.Response, error) { return nil, boom }, 0, boom},
		{"success with too few results", whole(201, `{"data":[{"code":"SUCCESS","status":"success"}]}`), 0, client.ErrBatchAnswer},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				crm := newCRM(t)
				crm.fail = append(crm.fail, tc.fail)
				tr := newZoho(t, crm, client.WithBatching(client.BatchRule{Route: insertRoute}))
				got := writes(tr, context.Background(), "POST", "/crm/v8/Leads", leads(5, 1))
				for _, a := range got {
					if tc.err != nil {
						assert.ErrorIs(t, a.err, tc.err)
						continue
					}
					require.NoError(t, a.err)
					assert.Equal(t, tc.status, a.status)
					assert.Equal(t, got[0].body, a.body, "each gets its own copy of the answer")
				}
				calls, _ := crm.spent()
				assert.Equal(t, 1, calls, "sent once, never again")
				assert.Zero(t, tr.Stats().Saved.Batched, "nothing saved on a failed batch")
				if tc.status >= 500 || tc.err == boom {
					assert.Zero(t, stat(tr, client.DefaultIntegration).Credits, "refunded")
				}
			})
		})
	}
}

// Two writes to one record are never in one batch, and the later one is
// sent once the earlier one is answered: the last write wins, as it would
// without batching.
func TestBatchSameRecordInOrder(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		crm := newCRM(t)
		crm.latency = 20 * time.Millisecond
		tr := newZoho(t, crm, client.WithBatching(zoho.BatchRules("v8", 0)...))
		var bodies []string
		for i := range 12 {
			email := fmt.Sprintf("u%d@x.test", i%3) // four writes to each of three records
			fields := []string{"Last_Name", fmt.Sprint("v", i), "Email", email}
			if i < 3 {
				fields = append(fields, "Slow", "1") // the first batch is answered last if sent with the others
			}
			bodies = append(bodies, lead(i+1, fields...))
		}
		got := make([]answer, len(bodies))
		var wg sync.WaitGroup
		for i, b := range bodies {
			wg.Go(func() {
				time.Sleep(time.Duration(i) * time.Microsecond) // arrive in order
				st, body, err := send(context.Background(), tr, "POST", "/crm/v8/Leads/upsert", "ann", b)
				got[i] = answer{st, body, err}
			})
		}
		wg.Wait()
		for _, a := range got {
			require.NoError(t, a.err)
			require.Equal(t, 200, a.status, a.body)
		}
		assert.Equal(t, []int{3, 3, 3, 3}, crm.batchSizes())
		state := crm.state()
		for r := range 3 {
			assert.Contains(t, state, fmt.Sprintf(`"Email":"u%d@x.test","Last_Name":"v%d","Seq":%d`, r, 9+r, 10+r))
		}
	})
}

// A caller whose deadline is nearer than the window is not held: its batch
// is sent at once.
func TestBatchDeadline(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		crm := newCRM(t)
		crm.latency = 50 * time.Millisecond
		tr := newZoho(t, crm, client.WithBatching(client.BatchRule{Route: insertRoute, Window: time.Second}))
		ctx, cancel := context.WithTimeout(context.Background(), 1200*time.Millisecond)
		defer cancel()
		start := time.Now()
		got := writes(tr, ctx, "POST", "/crm/v8/Leads", leads(3, 1))
		assert.Equal(t, 250*time.Millisecond, time.Since(start), "sent a window before the deadline")
		for _, a := range got {
			assert.NoError(t, a.err)
		}
		assert.Equal(t, []int{3}, crm.batchSizes())
	})
}

// A caller that leaves before its batch is sent is taken out of it: its
// record is not sent, and the batch's price drops with it.
func TestBatchCallerLeaves(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		crm := newCRM(t)
		p, err := zoho.Edition("free", 0)
		require.NoError(t, err)
		p.Credits, p.Concurrency = 100, 1
		tr := newZoho(t, crm, client.WithPlan(p), client.WithBatching(client.BatchRule{Route: insertRoute}))
		held, err := get(context.Background(), tr, "", "/crm/v8/Deals") // holds the only slot
		require.NoError(t, err)
		leaving, cancel := context.WithCancel(context.Background())
		var wg sync.WaitGroup
		var left answer
		wg.Go(func() {
			st, body, err := send(leaving, tr, "POST", "/crm/v8/Leads", "ann", lead(99, "Last_Name", "X"))
			left = answer{st, body, err}
		})
		var got []answer
		wg.Go(func() { got = writes(tr, context.Background(), "POST", "/crm/v8/Leads", leads(10, 1)) })
		time.Sleep(time.Second) // the batch of 11 (2 credits) waits for the slot
		cancel()
		synctest.Wait()
		require.NoError(t, held.Body.Close())
		wg.Wait()
		assert.ErrorIs(t, left.err, context.Canceled)
		for _, a := range got {
			assert.Equal(t, 201, a.status)
		}
		assert.Equal(t, []int{10}, crm.batchSizes())
		assert.NotContains(t, crm.state(), `"Seq":99`)
		assert.Equal(t, int64(1+1), stat(tr, client.DefaultIntegration).Credits, "the GET and a batch of 10")
		assert.Equal(t, int64(100-2), tr.Limiter().Peek(time.Now(), "").Remaining)

		// Everyone leaves: nothing is sent.
		ctx, cancel2 := context.WithTimeout(context.Background(), 3*time.Millisecond)
		defer cancel2()
		held, err = get(context.Background(), tr, "", "/crm/v8/Deals")
		require.NoError(t, err)
		for _, a := range writes(tr, ctx, "POST", "/crm/v8/Leads", leads(3, 50)) {
			assert.ErrorIs(t, a.err, context.DeadlineExceeded)
		}
		require.NoError(t, held.Body.Close())
		synctest.Wait()
		assert.Equal(t, []int{10}, crm.batchSizes())
	})
}

// Bodies that are not one record, and requests with an idempotency key,
// are sent as they are.
func TestBatchOnlySingleRecords(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		crm := newCRM(t)
		tr := newZoho(t, crm, client.WithBatching(client.BatchRule{Route: insertRoute, MaxBytes: 200}))
		two := `{"data":[{"Seq":1,"Last_Name":"a"},{"Seq":2,"Last_Name":"b"}]}`
		big := lead(3, "Last_Name", strings.Repeat("x", 300))
		for _, b := range []string{two, big, `{"data":[]}`, `{"data":[1]}`} {
			_, _, err := send(context.Background(), tr, "POST", "/crm/v8/Leads", "ann", b)
			assert.NoError(t, err)
		}
		_, _, err := send(context.Background(), tr, "POST", "/crm/v8/Leads", "ann", "not json")
		assert.ErrorIs(t, err, client.ErrPrice, "the cost table cannot price it")
		r, _ := http.NewRequest("POST", "https://crm.test/crm/v8/Leads", strings.NewReader(lead(4, "Last_Name", "d")))
		r.Header.Set("Idempotency-Key", "k1")
		resp, err := tr.RoundTrip(r)
		require.NoError(t, err)
		_, _ = io.Copy(io.Discard, resp.Body)
		require.NoError(t, resp.Body.Close())
		assert.Equal(t, []int{2, 1, 0, 1}, crm.batchSizes(), "the CRM refuses [1] before it counts it")
		assert.Zero(t, tr.Stats().Saved.Batched)
	})
}

// Each integration's records go in batches of their own.
func TestBatchPerIntegration(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		crm := newCRM(t)
		tr := newZoho(t, crm, client.WithIntegrations(client.Integration{Name: "forms"}, client.Integration{Name: "sync"}),
			client.WithBatching(client.BatchRule{Route: insertRoute}))
		var wg sync.WaitGroup
		for k, it := range []string{"forms", "sync"} {
			wg.Go(func() {
				writes(tr, client.WithIntegration(context.Background(), it), "POST", "/crm/v8/Leads", leads(4, 10*k))
			})
		}
		wg.Wait()
		assert.Equal(t, []int{4, 4}, crm.batchSizes())
		assert.Equal(t, int64(3), stat(tr, "forms").Saved.Batched.Calls)
		assert.Equal(t, int64(3), stat(tr, "sync").Saved.Batched.Calls)
	})
}

// Close sends the batches still collecting, and answers their callers.
func TestBatchClose(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		crm := newCRM(t)
		tr := newZoho(t, crm, client.WithBatching(client.BatchRule{Route: insertRoute, Window: time.Hour}))
		var got []answer
		done := make(chan struct{})
		go func() {
			got = writes(tr, context.Background(), "POST", "/crm/v8/Leads", leads(3, 1))
			close(done)
		}()
		synctest.Wait()
		start := time.Now()
		require.NoError(t, tr.Close(context.Background()))
		<-done
		assert.Zero(t, time.Since(start))
		for _, a := range got {
			assert.Equal(t, 201, a.status)
		}
		_, _, err := send(context.Background(), tr, "POST", "/crm/v8/Leads", "ann", lead(9, "Last_Name", "z"))
		assert.Error(t, err, "closed")
	})
}

// Batching rules are checked when the Transport is made.
func TestSavingConfigErrors(t *testing.T) {
	ct, err := zoho.CostTable()
	require.NoError(t, err)
	cases := map[string]client.Option{
		"not a route":         client.WithCaching(client.CacheRule{Route: "GET /nowhere", TTL: time.Minute}),
		"cache no ttl":        client.WithCaching(client.CacheRule{Route: fieldsRoute}),
		"cache a write":       client.WithCaching(client.CacheRule{Route: insertRoute, TTL: time.Minute}),
		"coalesce a write":    client.WithCoalescing(client.CoalesceRule{Route: insertRoute}),
		"batch a read":        client.WithBatching(client.BatchRule{Route: recordsRoute}),
		"unknown integration": client.WithBatching(client.BatchRule{Route: insertRoute, Integrations: []string{"x"}}),
		"negative window":     client.WithBatching(client.BatchRule{Route: insertRoute, Window: -1}),
		"bad success":         client.WithBatching(client.BatchRule{Route: insertRoute, Success: 404}),
		"cache size":          client.WithCacheSize(0, 1),
	}
	for name, o := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := client.New(nil, client.WithPlan(limiter.Plan{Credits: 100, Concurrency: 1,
				SubConcurrency: map[string]int64{"bulk": 1, "query": 1, "convert": 1, "mail": 1, "composite": 1}}),
				client.WithCosts(ct), o)
			assert.ErrorIs(t, err, client.ErrConfig)
		})
	}
}

// A batch refused with a 429 and retried (RetryPolicy.NonIdempotent) is sent
// again with the same records; the CRM writes each once.
func TestBatchRetried(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		crm := newCRM(t)
		crm.fail = append(crm.fail, func(r *http.Request) (*http.Response, error) {
			return jsonResponse(r, http.StatusTooManyRequests,
				json.RawMessage(`{"code":"TOO_MANY_REQUESTS","details":{"by":"concurrency"},"message":"too many","status":"error"}`)), nil
		})
		tr := newZoho(t, crm, client.WithRetry(client.RetryPolicy{NonIdempotent: true}),
			client.WithBatching(client.BatchRule{Route: insertRoute}))
		got := writes(tr, context.Background(), "POST", "/crm/v8/Leads", leads(5, 1))
		for i, a := range got {
			require.NoError(t, a.err)
			assert.Equal(t, 201, a.status)
			assert.EqualValues(t, i+1, a.result(t)["details"].(map[string]any)["Seq"])
		}
		calls, credits := crm.spent()
		assert.Equal(t, 2, calls, "the 429, then the retry")
		assert.Equal(t, []int{5}, crm.batchSizes(), "the refused call wrote nothing")
		assert.Empty(t, crm.dupes())
		assert.Equal(t, int64(1), credits)
		s := stat(tr, client.DefaultIntegration)
		assert.Equal(t, int64(1), s.Retries)
		assert.Equal(t, int64(1), s.Credits)
	})
}

// panicBody panics on Read, as a base transport's body may.
type panicBody struct{}

func (panicBody) Read([]byte) (int, error) { panic("base body") }
func (panicBody) Close() error             { return nil }

// A base transport that panics sending a batch (or reading its answer), on
// the batch's own goroutine where no caller could recover it, does not end
// the process: each caller gets an error, and the batch's slot and credits
// are given back (a call that panicked is refunded; an answered one is
// paid, its slot released). The batches after it go on.
func TestBatchBasePanic(t *testing.T) {
	for name, fail := range map[string]func(r *http.Request) (*http.Response, error){
		"round trip": func(*http.Request) (*http.Response, error) { panic("base transport") },
		"error value": func(*http.Request) (*http.Response, error) {
			panic(fmt.Errorf("base transport: %w", io.ErrUnexpectedEOF))
		},
		"answer body": func(r *http.Request) (*http.Response, error) {
			resp := jsonResponse(r, http.StatusOK, nil)
			resp.Body = panicBody{}
			return resp, nil
		},
		"refusal body": func(r *http.Request) (*http.Response, error) {
			resp := jsonResponse(r, http.StatusTooManyRequests, nil)
			resp.Body = panicBody{} // read to classify the refusal
			return resp, nil
		},
		"answer body and its close": func(r *http.Request) (*http.Response, error) {
			resp := jsonResponse(r, http.StatusOK, nil)
			resp.Body = &brittleBody{readPanics: true, closePanics: true} // recovered closes it
			return resp, nil
		},
	} {
		t.Run(name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				crm := newCRM(t)
				crm.fail = append(crm.fail, fail)
				p, err := zoho.Edition("free", 0)
				require.NoError(t, err)
				p.Credits, p.Concurrency = 100, 1
				tr := newZoho(t, crm, client.WithPlan(p), client.WithBatching(client.BatchRule{Route: insertRoute}))
				for _, a := range writes(tr, context.Background(), "POST", "/crm/v8/Leads", leads(5, 1)) {
					require.ErrorIs(t, a.err, client.ErrBatchPanic)
					assert.Contains(t, a.err.Error(), "panicked")
					assert.Contains(t, a.err.Error(), "base ", "the panic's value")
					if name == "error value" {
						assert.ErrorIs(t, a.err, io.ErrUnexpectedEOF, "an error panicked with is wrapped")
					}
				}
				spent := int64(0)
				if strings.HasPrefix(name, "answer body") {
					spent = 1 // answered: the server charged it
				}
				assert.Equal(t, spent, stat(tr, client.DefaultIntegration).Credits)
				assert.Equal(t, 100-spent, tr.Limiter().Peek(time.Now(), "").Remaining)
				// The only slot is back, and the records' holders are gone.
				for _, a := range writes(tr, client.WithFailFast(context.Background()), "POST", "/crm/v8/Leads", leads(5, 1)) {
					require.NoError(t, a.err)
					assert.Equal(t, 201, a.status)
				}
				assert.Equal(t, []int{5}, crm.batchSizes())
			})
		})
	}
}

// A batch's answer is one call's, sent with its first caller's request
// (headers and context): a cookie it sets is that caller's alone. Left
// open by the last review: every caller in the batch got its Set-Cookie,
// a session the server opened for another call, both from a batch answered
// record by record and from one that failed as a whole. Headers that are
// safe to share still reach every caller.
func TestBatchCookieOnlyToItsCaller(t *testing.T) {
	for _, tc := range []struct {
		name   string
		status int
		fail   bool
	}{
		{"answered", 201, false},
		{"failed", 401, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				crm := newCRM(t)
				if tc.fail {
					crm.fail = append(crm.fail, func(r *http.Request) (*http.Response, error) {
						return jsonResponse(r, 401, map[string]any{"code": "INVALID_TOKEN", "status": "error"}), nil
					})
				}
				base := rtFunc(func(r *http.Request) (*http.Response, error) {
					resp, err := crm.RoundTrip(r)
					if err == nil && r.Method == http.MethodPost {
						resp.Header.Add("Set-Cookie", "sid=s3cret; HttpOnly")
						resp.Header.Add("Set-Cookie", "csrf=t0ken")
						resp.Header.Set("X-Request-Id", "batch-1")
					}
					return resp, err
				})
				tr := newZoho(t, base, client.WithBatching(client.BatchRule{Route: insertRoute}))
				bodies := leads(4, 1)
				headers := make([]http.Header, len(bodies))
				statuses := make([]int, len(bodies))
				var wg sync.WaitGroup
				for i, b := range bodies {
					wg.Go(func() {
						r, _ := http.NewRequest("POST", "https://crm.test/crm/v8/Leads", strings.NewReader(b))
						r.Header.Set("Authorization", "Zoho-oauthtoken ann")
						resp, err := tr.RoundTrip(r)
						if assert.NoError(t, err) {
							_, _ = io.Copy(io.Discard, resp.Body)
							_ = resp.Body.Close()
							headers[i], statuses[i] = resp.Header, resp.StatusCode
						}
					})
					if i == 0 {
						synctest.Wait() // the first caller's record opens the batch
					}
				}
				wg.Wait()
				calls, _ := crm.spent()
				require.Equal(t, 1, calls, "one batch")
				for i, h := range headers {
					require.NotNil(t, h, "caller %d", i)
					assert.Equal(t, tc.status, statuses[i])
					assert.Equal(t, "batch-1", h.Get("X-Request-Id"), "caller %d: a shared header", i)
					if i == 0 {
						assert.Equal(t, []string{"sid=s3cret; HttpOnly", "csrf=t0ken"}, h.Values("Set-Cookie"), "the batch was sent as its call")
					} else {
						assert.Empty(t, h.Values("Set-Cookie"), "caller %d got another caller's cookie", i)
					}
				}
			})
		})
	}
}
