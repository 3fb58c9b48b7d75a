package gateway

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
)

// BenchmarkProxy is a request through each proxy on loopback, client,
// proxy and upstream in this process: Bare is the httputil.ReverseProxy alone
// (what `creditgate bare` serves), Gateway the whole gateway in front of it.
func BenchmarkProxy(b *testing.B) {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"data":[{"id":"1"}]}`))
	}))
	defer up.Close()
	u, _ := url.Parse(up.URL)
	b.Run("Bare", func(b *testing.B) {
		benchHTTP(b, NewProxy(u, NewTransport(effective(b, "").Config.Timeouts), quiet(), nil))
	})
	b.Run("Gateway", func(b *testing.B) {
		g, err := New(effective(b, "upstream: "+up.URL+"\nplan: {edition: enterprise, credits: 1000000000000, concurrency: 100000}\n"), quiet(), nil)
		if err != nil {
			b.Fatal(err)
		}
		defer func() { _ = g.Close(context.Background()) }()
		benchHTTP(b, g)
	})
}

func benchHTTP(b *testing.B, h http.Handler) {
	srv := httptest.NewServer(h)
	defer srv.Close()
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	defer client.CloseIdleConnections()
	b.ReportAllocs()
	b.SetParallelism(8)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			resp, err := client.Get(srv.URL + "/crm/v8/Leads")
			if err != nil {
				b.Error(err)
				return
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
	})
}
