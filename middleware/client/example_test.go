package client_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"

	"github.com/creditgate/creditgate/cost"
	"github.com/creditgate/creditgate/limiter"
	"github.com/creditgate/creditgate/middleware"
	"github.com/creditgate/creditgate/middleware/client"
)

// exampleAPI is a credit-metered API: this project's middleware in front
// of a handler, 100 credits a day, GET 1 credit, bulk reads 10. stop stops
// it.
func exampleAPI() (srv *httptest.Server, plan limiter.Plan, costs *cost.Table, stop func()) {
	plan = limiter.Plan{Name: "demo", Credits: 100, Concurrency: 2, SubConcurrency: map[string]int64{"bulk": 1}}
	costs, _ = cost.NewTable(1, cost.Route{Pattern: "POST /crm/bulk/read", Cost: 10, Class: "bulk"})
	l, _ := limiter.New(plan)
	h, _ := middleware.New(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, `{"data":[]}`)
	}), l, costs)
	srv = httptest.NewServer(h)
	return srv, plan, costs, func() { srv.Close(); _ = l.Close(context.Background()) }
}

// A client whose integrations share one pool: the export may spend half of
// it, the web forms keep a tenth for themselves and go first.
func Example() {
	srv, plan, costs, stop := exampleAPI()
	defer stop()

	tr, err := client.New(srv.Client().Transport, // nil: http.DefaultTransport
		client.WithPlan(plan), client.WithCosts(costs),
		client.WithIntegrations(
			client.Integration{Name: "export", Quota: 50},
			client.Integration{Name: "forms", Reserve: 10, Priority: 1}))
	if err != nil {
		panic(err)
	}
	defer tr.Close(context.Background())
	hc := &http.Client{Transport: tr}

	ctx := client.WithIntegration(context.Background(), "export")
	for range 5 {
		req, _ := http.NewRequestWithContext(ctx, "POST", srv.URL+"/crm/bulk/read", nil)
		resp, err := hc.Do(req)
		if err != nil {
			fmt.Println(err)
			break
		}
		fmt.Println(resp.StatusCode, resp.Header.Get(middleware.HeaderRemaining))
		resp.Body.Close() // gives the slots back
	}
	// Output:
	// 200 90
	// 200 80
	// 200 70
	// 200 60
	// 200 50
}

// A call that cannot get what it needs in time fails at once, with a
// LimitError that says why and when to come back.
func ExampleLimitError() {
	srv, plan, costs, stop := exampleAPI()
	defer stop()
	tr, _ := client.New(srv.Client().Transport, client.WithPlan(plan), client.WithCosts(costs),
		client.WithIntegrations(client.Integration{Name: "export", Quota: 20}))
	defer tr.Close(context.Background())
	hc := &http.Client{Transport: tr}

	ctx := client.WithFailFast(client.WithIntegration(context.Background(), "export"))
	for range 3 {
		req, _ := http.NewRequestWithContext(ctx, "POST", srv.URL+"/crm/bulk/read", nil)
		resp, err := hc.Do(req)
		var le *client.LimitError
		if errors.As(err, &le) {
			fmt.Println("held back:", le.Reason, "; back at a known time:", !le.RetryAt.IsZero())
			continue
		}
		fmt.Println(resp.StatusCode)
		resp.Body.Close()
	}
	fmt.Println(tr.Stats().Integrations[0].Refused[client.ReasonQuota])
	// Output:
	// 200
	// 200
	// held back: quota ; back at a known time: true
	// 1
}
