package client_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"time"

	"github.com/creditgate/creditgate/cost"
	"github.com/creditgate/creditgate/limiter"
	"github.com/creditgate/creditgate/middleware/client"
)

// Metadata served from the cache for a TTL: the second read costs nothing;
// a read with WithCacheBypass is sent and refreshes the entry.
func ExampleWithCaching() {
	calls := 0
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls++
		fmt.Fprintf(w, `{"users":[{"id":"1"}],"call":%d}`, calls)
	}))
	defer api.Close()
	costs, _ := cost.NewTable(1, cost.Route{Pattern: "GET /crm/v8/users", Cost: 1})
	tr, err := client.New(api.Client().Transport, client.WithCosts(costs),
		client.WithPlan(limiter.Plan{Credits: 100, Concurrency: 5}),
		client.WithCaching(client.CacheRule{Route: "GET /crm/v8/users", TTL: time.Hour}))
	if err != nil {
		panic(err)
	}
	defer tr.Close(context.Background())
	hc := &http.Client{Transport: tr}
	read := func(ctx context.Context) {
		req, _ := http.NewRequestWithContext(ctx, "GET", api.URL+"/crm/v8/users", nil)
		req.Header.Set("Authorization", "Zoho-oauthtoken 1000.abc") // entries are kept per credentials
		resp, err := hc.Do(req)
		if err != nil {
			panic(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		fmt.Println(string(b))
	}
	read(context.Background())
	read(context.Background())
	read(client.WithCacheBypass(context.Background()))
	read(context.Background())
	fmt.Printf("saved: %+v\n", tr.Stats().Saved.Cached)
	// Output:
	// {"users":[{"id":"1"}],"call":1}
	// {"users":[{"id":"1"}],"call":1}
	// {"users":[{"id":"1"}],"call":2}
	// {"users":[{"id":"1"}],"call":2}
	// saved: {Calls:2 Credits:2}
}

// Three single-record inserts from three goroutines go as one call (here
// when the batch is full: three records), and each caller gets its own
// record's result, as if it had been alone.
func ExampleWithBatching() {
	var mu sync.Mutex
	var sizes []int
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var in struct{ Data []map[string]string }
		_ = json.NewDecoder(r.Body).Decode(&in)
		mu.Lock()
		sizes = append(sizes, len(in.Data))
		mu.Unlock()
		var out []string
		for _, rec := range in.Data {
			if rec["Last_Name"] == "" {
				out = append(out, `{"code":"MANDATORY_NOT_FOUND","details":{"api_name":"Last_Name"},"message":"required field not found","status":"error"}`)
				continue
			}
			out = append(out, `{"code":"SUCCESS","details":{"id":"id-`+rec["Last_Name"]+`"},"message":"record added","status":"success"}`)
		}
		w.WriteHeader(http.StatusMultiStatus)
		fmt.Fprintf(w, `{"data":[%s]}`, strings.Join(out, ","))
	}))
	defer api.Close()
	// Zoho prices inserts by the records of their data array: 1 credit per 10.
	costs, _ := cost.NewTable(1, cost.Route{Pattern: "POST /crm/v8/{module}",
		Pricer: cost.RecordsCost("data", 10, 10, 1<<20)})
	tr, err := client.New(api.Client().Transport, client.WithCosts(costs),
		client.WithPlan(limiter.Plan{Credits: 100, Concurrency: 5}),
		client.WithBatching(client.BatchRule{Route: "POST /crm/v8/{module}", MaxRecords: 3, Window: time.Minute}))
	if err != nil {
		panic(err)
	}
	defer tr.Close(context.Background())
	hc := &http.Client{Transport: tr}
	names := []string{"Ann", "", "Bob"}
	out := make([]string, len(names))
	var wg sync.WaitGroup
	for i, name := range names {
		wg.Go(func() {
			body := fmt.Sprintf(`{"data":[{"Last_Name":%q}]}`, name)
			resp, err := hc.Post(api.URL+"/crm/v8/Leads", "application/json", strings.NewReader(body))
			if err != nil {
				panic(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			out[i] = fmt.Sprint(resp.StatusCode, " ", string(b))
		})
	}
	wg.Wait()
	fmt.Println("the API got", sizes)
	for _, o := range out {
		fmt.Println(o)
	}
	fmt.Printf("saved: %+v\n", tr.Stats().Saved.Batched)
	// Output:
	// the API got [3]
	// 201 {"data":[{"code":"SUCCESS","details":{"id":"id-Ann"},"message":"record added","status":"success"}]}
	// 400 {"data":[{"code":"MANDATORY_NOT_FOUND","details":{"api_name":"Last_Name"},"message":"required field not found","status":"error"}]}
	// 201 {"data":[{"code":"SUCCESS","details":{"id":"id-Bob"},"message":"record added","status":"success"}]}
	// saved: {Calls:2 Credits:2}
}
