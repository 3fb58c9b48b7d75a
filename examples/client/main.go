// Command client calls a credit-metered API through the client Transport:
// every integration of the process inside one shared pool, the export held
// to 30 % of it, the web forms keeping 10 % nobody else may spend, and 429s
// retried within a budget instead of in a storm.
//
//	go run ./examples/server &  go run ./examples/client
package main

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net/http"
	"time"

	"github.com/creditgate/creditgate/middleware/client"
	"github.com/creditgate/creditgate/profile/zoho"
)

func main() {
	plan, err := zoho.Edition("enterprise", 25) // what the account has; or learn it from the headers
	if err != nil {
		log.Fatal(err)
	}
	costs, err := zoho.CostTable() // what each call will cost, as the server prices it
	if err != nil {
		log.Fatal(err)
	}
	tr, err := client.New(http.DefaultTransport, client.WithPlan(plan), client.WithCosts(costs),
		client.WithIntegrations(
			client.Integration{Name: "export", Quota: 30},
			client.Integration{Name: "forms", Reserve: 10, Priority: 1},
			client.Integration{Name: "sync"}))
	if err != nil {
		log.Fatal(err)
	}
	defer tr.Close(context.Background())
	hc := &http.Client{Transport: tr}

	ctx, cancel := context.WithTimeout(client.WithIntegration(context.Background(), "sync"), 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", "http://127.0.0.1:8080/crm/v8/Leads", nil)
	resp, err := hc.Do(req)
	var le *client.LimitError
	switch {
	case errors.As(err, &le): // refused by the client itself: why, and when the credits come back
		log.Fatalf("not sent: %v (credits back at %v)", le.Reason, le.RetryAt)
	case err != nil:
		log.Fatal(err)
	}
	resp.Body.Close() // gives the slots back
	fmt.Println(resp.Status, "credits left:", resp.Header.Get("X-RATELIMIT-REMAINING"))
	for _, s := range tr.Stats().Integrations {
		fmt.Printf("%-8s %d calls, %d credits\n", s.Name, s.Requests, s.Credits)
	}
}
