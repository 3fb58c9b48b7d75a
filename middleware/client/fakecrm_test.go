package client_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/creditgate/creditgate/cost"
	"github.com/creditgate/creditgate/middleware/client"
	"github.com/creditgate/creditgate/profile/zoho"
)

// fakeCRM is a Zoho-like CRM API in memory, an http.RoundTripper, that
// checks what it receives. Writes (insert POST /crm/v8/{module}, update PUT
// /crm/v8/{module}, upsert POST /crm/v8/{module}/upsert) take a "data"
// array and answer one result per record, in order, as Zoho does: 201 or
// 200 when all succeed, 400 when all fail, 207 otherwise. A record needs a
// Last_Name to be inserted and an existing id to be updated; an insert with
// the Email of a record of its module is a duplicate; upserts match by
// Email. Every record carries a unique "Seq", which the CRM counts: a write
// received twice is a test failure. Reads answer who asked (the
// Authorization header) and how many calls that path had. Each call is
// priced with Zoho's cost table, as the server would charge it.
type fakeCRM struct {
	latency      time.Duration // slept by each call (in synctest bubbles only)
	cacheControl string        // sent with metadata answers
	vary         string        // likewise
	setCookie    bool          // likewise
	costs        *cost.Table

	mu      sync.Mutex                                       // protects the fields below
	records map[string]map[string]map[string]json.RawMessage // module, id, field
	seqs    map[string]int                                   // writes received, by Seq
	batches []int                                            // records per write call
	reads   map[string]int                                   // read calls by URL and token
	calls   int
	credits int64
	// fail, if set, answers the next write calls instead of the CRM.
	fail []func(r *http.Request) (*http.Response, error)
}

func newCRM(t testing.TB) *fakeCRM {
	ct, err := zoho.CostTable()
	if err != nil {
		t.Fatal(err)
	}
	return &fakeCRM{costs: ct, records: map[string]map[string]map[string]json.RawMessage{},
		seqs: map[string]int{}, reads: map[string]int{}}
}

func (f *fakeCRM) RoundTrip(r *http.Request) (*http.Response, error) {
	var body []byte
	if r.Body != nil {
		body, _ = io.ReadAll(r.Body)
		_ = r.Body.Close()
		r.Body = io.NopCloser(bytes.NewReader(body))
	}
	latency := f.latency
	if d, err := time.ParseDuration(r.URL.Query().Get("wait")); err == nil {
		latency = d
	}
	if bytes.Contains(body, []byte(`"Slow"`)) {
		latency += 100 * time.Millisecond
	}
	if latency > 0 {
		select {
		case <-time.After(latency):
		case <-r.Context().Done():
			return nil, r.Context().Err() // as a real transport gives up
		}
	}
	p, err := f.costs.Lookup(r)
	if err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	if r.Method != http.MethodGet && len(f.fail) > 0 {
		fail := f.fail[0]
		f.fail = f.fail[1:]
		return fail(r)
	}
	var resp *http.Response
	if r.Method == http.MethodGet {
		resp = f.read(r)
	} else {
		resp = f.write(r, body)
	}
	if resp.StatusCode < 500 {
		f.credits += p.Credits
	}
	return resp, nil
}

func (f *fakeCRM) read(r *http.Request) *http.Response {
	k := r.URL.String() + " " + r.Header.Get("Authorization")
	f.reads[k]++
	size, _ := strconv.Atoi(r.URL.Query().Get("size"))
	out := map[string]any{"path": r.URL.RequestURI(), "token": r.Header.Get("Authorization"), "n": f.reads[k],
		"pad": strings.Repeat("x", size)}
	status := http.StatusOK
	if st, err := strconv.Atoi(r.URL.Query().Get("status")); err == nil {
		status = st
	}
	resp := jsonResponse(r, status, out)
	if strings.Contains(r.URL.Path, "/settings/") || strings.HasSuffix(r.URL.Path, "/users") {
		for h, v := range map[string]string{"Cache-Control": f.cacheControl, "Vary": f.vary} {
			if v != "" {
				resp.Header.Set(h, v)
			}
		}
		if f.setCookie {
			resp.Header.Set("Set-Cookie", "session=1")
		}
	}
	return resp
}

// write applies a write call's records in order and answers one result each.
func (f *fakeCRM) write(r *http.Request, body []byte) *http.Response {
	var in struct {
		Data []map[string]json.RawMessage `json:"data"`
	}
	segs := strings.Split(strings.Trim(r.URL.Path, "/"), "/") // crm v8 Module [upsert]
	if len(segs) > 2 && (segs[2] == "settings" || segs[2] == "users") {
		return jsonResponse(r, http.StatusOK, map[string]any{"status": "success"}) // metadata
	}
	if json.Unmarshal(body, &in) != nil || len(segs) < 3 {
		return jsonResponse(r, http.StatusBadRequest, map[string]any{"code": "INVALID_DATA", "status": "error"})
	}
	op := map[string]string{http.MethodPost: "insert", http.MethodPut: "update"}[r.Method]
	if len(segs) == 4 && segs[3] == "upsert" {
		op = "upsert"
	}
	f.batches = append(f.batches, len(in.Data))
	results := make([]any, len(in.Data))
	ok := 0
	for i, rec := range in.Data {
		results[i] = f.apply(segs[2], op, i, rec)
		if results[i].(map[string]any)["status"] == "success" {
			ok++
		}
	}
	status := http.StatusMultiStatus
	switch ok {
	case len(in.Data):
		status = map[string]int{"insert": 201, "update": 200, "upsert": 200}[op]
	case 0:
		status = http.StatusBadRequest
	}
	return jsonResponse(r, status, map[string]any{"data": results})
}

// apply applies one record; it is also the reference model of the property
// test (called in order, without a transport).
func (f *fakeCRM) apply(module, op string, i int, rec map[string]json.RawMessage) map[string]any {
	seq := string(rec["Seq"])
	f.seqs[seq]++
	if f.records[module] == nil {
		f.records[module] = map[string]map[string]json.RawMessage{}
	}
	recs := f.records[module]
	fail := func(code, field string) map[string]any {
		return map[string]any{"code": code, "status": "error", "message": strings.ToLower(code),
			"details": map[string]any{"api_name": field, "json_path": fmt.Sprintf("$.data[%d].%s", i, field)}}
	}
	id := strings.Trim(string(rec["id"]), `"`)
	switch {
	case op == "update" && recs[id] == nil:
		return fail("INVALID_DATA", "id")
	case op == "update":
	case op == "upsert" && f.byEmail(module, rec["Email"]) != "":
		id = f.byEmail(module, rec["Email"])
	case rec["Last_Name"] == nil:
		return fail("MANDATORY_NOT_FOUND", "Last_Name")
	case op == "insert" && f.byEmail(module, rec["Email"]) != "":
		return fail("DUPLICATE_DATA", "Email")
	default:
		id = "id-" + strings.Trim(seq, `"`)
		recs[id] = map[string]json.RawMessage{}
	}
	maps.Copy(recs[id], rec)
	delete(recs[id], "id")
	return map[string]any{"code": "SUCCESS", "status": "success", "message": "record saved",
		"details": map[string]any{"id": id, "Seq": json.RawMessage(seq)}}
}

func (f *fakeCRM) byEmail(module string, email json.RawMessage) string {
	if email == nil {
		return ""
	}
	for id, r := range f.records[module] {
		if bytes.EqualFold(r["Email"], email) {
			return id
		}
	}
	return ""
}

func jsonResponse(r *http.Request, status int, v any) *http.Response {
	b, _ := json.Marshal(v)
	return &http.Response{StatusCode: status, Status: strconv.Itoa(status) + " " + http.StatusText(status),
		Header: http.Header{"Content-Type": {"application/json"}}, Body: io.NopCloser(bytes.NewReader(b)),
		ContentLength: int64(len(b)), Request: r, ProtoMajor: 1, ProtoMinor: 1}
}

// state returns the records, as JSON, for comparisons.
func (f *fakeCRM) state() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	b, _ := json.Marshal(f.records)
	return string(b)
}

// dupes returns the Seqs written more than once.
func (f *fakeCRM) dupes() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for s, n := range f.seqs {
		if n > 1 {
			out = append(out, s)
		}
	}
	slices.Sort(out)
	return out
}

func (f *fakeCRM) batchSizes() []int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.batches)
}

func (f *fakeCRM) spent() (calls int, credits int64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls, f.credits
}

// bubbleClock is the wall clock; in a synctest bubble, the bubble's.
type bubbleClock struct{}

func (bubbleClock) Now() time.Time { return time.Now() }

func (bubbleClock) AfterFunc(d time.Duration, f func()) client.Timer { return time.AfterFunc(d, f) }

// newZoho makes a Transport with Zoho's cost table and an Enterprise pool
// over base, on the bubble's clock, and checks at the end that every body
// was closed.
func newZoho(t *testing.T, base http.RoundTripper, opts ...client.Option) *client.Transport {
	t.Helper()
	ct, err := zoho.CostTable()
	if err != nil {
		t.Fatal(err)
	}
	p, err := zoho.Edition("enterprise", 10)
	if err != nil {
		t.Fatal(err)
	}
	all := append([]client.Option{client.WithClock(bubbleClock{}), client.WithCosts(ct), client.WithPlan(p),
		client.WithBodyTracking()}, opts...)
	tr, err := client.New(base, all...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := tr.Close(context.Background()); err != nil {
			t.Error(err)
		}
		tr.CheckBodies(t)
	})
	return tr
}

// send sends method url with body (none if "") and an Authorization token,
// reads and closes the answer, and returns its status and body.
func send(ctx context.Context, tr http.RoundTripper, method, url, token, body string) (int, string, error) {
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	r, err := http.NewRequestWithContext(ctx, method, "https://crm.test"+url, rd)
	if err != nil {
		return 0, "", err
	}
	if token != "" {
		r.Header.Set("Authorization", "Zoho-oauthtoken "+token)
	}
	resp, err := tr.RoundTrip(r)
	if err != nil {
		return 0, "", err
	}
	b, err := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	return resp.StatusCode, string(b), err
}

// lead is a one-record body {"data":[{...}]} with Seq seq and the fields.
func lead(seq int, fields ...string) string {
	var b strings.Builder
	fmt.Fprintf(&b, `{"data":[{"Seq":%d`, seq)
	for i := 0; i+1 < len(fields); i += 2 {
		fmt.Fprintf(&b, `,%q:%q`, fields[i], fields[i+1])
	}
	b.WriteString(`}]}`)
	return b.String()
}
