package main

import (
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/creditgate/creditgate/middleware"
	"github.com/creditgate/creditgate/profile/zoho"
)

// loadTally is what the clients of the load test saw.
type loadTally struct {
	mu                   sync.Mutex
	bulkOK, getOK        int64
	refused              map[string]int64 // by details.by
	requests             int64
	exhausted            atomic.Bool // a 1-credit call was refused for credits
	headerErrs, bodyErrs []string
}

// The default configuration (Zoho Enterprise, 1 licence: 51,000 credits,
// 20 calls in flight per application, 10 bulk calls per tenant) under 30
// concurrent clients until the pool is spent: it admits exactly the pool,
// never more calls at the upstream than the caps, sends the documented
// headers and bodies, and its metrics agree with what the clients counted.
func TestServeDefaultUnderLoad(t *testing.T) {
	crm := newFakeCRM(t, time.Millisecond)
	gw := startGateway(t, nil, "-upstream", crm.srv.URL)
	tally := &loadTally{refused: map[string]int64{}}
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}, Timeout: 10 * time.Second}
	defer client.CloseIdleConnections()

	var wg sync.WaitGroup
	for w := range 30 {
		wg.Go(func() {
			bulk := w%2 == 0
			for i := 0; i < 2000 && !tally.exhausted.Load(); i++ {
				tally.call(t, client, "http://"+gw.proxy, bulk)
			}
		})
	}
	wg.Wait()
	if !tally.exhausted.Load() {
		t.Fatalf("the pool was not spent: %+v", tally)
	}
	for _, e := range append(tally.headerErrs, tally.bodyErrs...) {
		t.Error(e)
	}
	spent := 50*tally.bulkOK + tally.getOK
	if spent != 51_000 {
		t.Errorf("admitted %d credits (%d bulk reads, %d gets), want exactly the pool, 51,000", spent, tally.bulkOK, tally.getOK)
	}
	if p := crm.peak.Load(); p > 20 {
		t.Errorf("%d calls in flight at the upstream, cap 20", p)
	}
	if p := crm.bulkPeak.Load(); p > 10 {
		t.Errorf("%d bulk calls in flight at the upstream, cap 10", p)
	}
	if crm.calls.Load() != tally.bulkOK+tally.getOK {
		t.Errorf("upstream saw %d calls, clients were admitted %d", crm.calls.Load(), tally.bulkOK+tally.getOK)
	}
	if tally.refused[middleware.BySubConcurrency] == 0 || tally.refused[middleware.ByCredits] == 0 {
		t.Errorf("refusals %v: want sub-concurrency and credits refusals under this load", tally.refused)
	}
	checkMetrics(t, gw, tally, spent)
	t.Logf("%d requests: %d bulk reads and %d gets admitted, refused %v; peaks at the upstream: %d calls, %d bulk",
		tally.requests, tally.bulkOK, tally.getOK, tally.refused, crm.peak.Load(), crm.bulkPeak.Load())
}

func (lt *loadTally) call(t *testing.T, c *http.Client, base string, bulk bool) {
	method, path := http.MethodGet, "/crm/v8/Leads"
	if bulk {
		method, path = http.MethodPost, "/crm/bulk/v8/read"
	}
	req, _ := http.NewRequest(method, base+path, nil)
	req.Header.Set("X-Client-Id", "sync-app")
	resp, err := c.Do(req)
	if err != nil {
		t.Errorf("%s %s: %v", method, path, err)
		lt.exhausted.Store(true) // stop the load
		return
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	lt.mu.Lock()
	defer lt.mu.Unlock()
	lt.requests++
	switch resp.StatusCode {
	case http.StatusOK:
		if bulk {
			lt.bulkOK++
		} else {
			lt.getOK++
		}
		if msg := checkAdmittedHeaders(resp.Header); msg != "" && len(lt.headerErrs) < 5 {
			lt.headerErrs = append(lt.headerErrs, msg)
		}
	case http.StatusTooManyRequests:
		by, msg := checkRefusal(resp, body)
		lt.refused[by]++
		if msg != "" && len(lt.bodyErrs) < 5 {
			lt.bodyErrs = append(lt.bodyErrs, msg)
		}
		if by == middleware.ByCredits && !bulk {
			lt.exhausted.Store(true)
		}
	default:
		lt.bodyErrs = append(lt.bodyErrs, "status "+resp.Status)
		lt.exhausted.Store(true)
	}
}

// checkAdmittedHeaders checks the limit headers of an admitted call.
func checkAdmittedHeaders(h http.Header) string {
	if h.Get(middleware.HeaderLimit) != "51000" {
		return "X-RATELIMIT-LIMIT = " + h.Get(middleware.HeaderLimit)
	}
	rem, err := strconv.ParseInt(h.Get(middleware.HeaderRemaining), 10, 64)
	if err != nil || rem < 0 || rem > 51_000 {
		return "X-RATELIMIT-REMAINING = " + h.Get(middleware.HeaderRemaining)
	}
	if reset, err := strconv.Atoi(h.Get(middleware.HeaderReset)); err != nil || reset <= 0 || reset > 86_400+900 {
		return "X-RATELIMIT-RESET = " + h.Get(middleware.HeaderReset)
	}
	credits := h.Get(middleware.HeaderCreditsRemaining)
	switch {
	case rem < 25_000 && credits != strconv.FormatInt(rem, 10):
		return "X-API-CREDITS-REMAINING = " + credits + " past half the pool, remaining " + strconv.FormatInt(rem, 10)
	case rem > 26_000 && credits != "":
		return "X-API-CREDITS-REMAINING sent before half the pool was used"
	}
	return ""
}

// checkRefusal checks a 429's headers and Zoho-shaped body; it returns the
// refusal's details.by.
func checkRefusal(resp *http.Response, body []byte) (by, msg string) {
	var b zoho.ErrorBody
	if err := json.Unmarshal(body, &b); err != nil {
		return "", "429 body is not JSON: " + string(body)
	}
	if ra, err := strconv.Atoi(resp.Header.Get("Retry-After")); err != nil || ra < 1 {
		return b.Details.By, "Retry-After = " + resp.Header.Get("Retry-After")
	}
	if b.Code != zoho.CodeTooManyRequests || b.Status != "error" || b.Message == "" || resp.Header.Get(middleware.HeaderLimit) != "51000" {
		return b.Details.By, "429 body " + string(body)
	}
	if b.Details.By == middleware.BySubConcurrency && b.Details.Class != "complex" {
		return b.Details.By, "sub-concurrency refusal without its class: " + string(body)
	}
	return b.Details.By, ""
}

// checkMetrics reads /metrics with the Prometheus text parser and compares
// it with what the clients counted.
func checkMetrics(t *testing.T, gw *gatewayProc, tally *loadTally, spent int64) {
	t.Helper()
	resp, err := http.Get("http://" + gw.admin + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	parser := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("metrics do not parse: %v", err)
	}
	value := func(name string, labels map[string]string) float64 {
		t.Helper()
		fam, ok := fams[name]
		if !ok {
			t.Fatalf("no metric %s", name)
		}
		sum, found := 0.0, false
		for _, m := range fam.Metric {
			if hasLabels(m, labels) {
				found = true
				sum += m.GetCounter().GetValue() + m.GetGauge().GetValue() + float64(m.GetHistogram().GetSampleCount())
			}
		}
		if !found {
			t.Fatalf("no %s%v", name, labels)
		}
		return sum
	}
	if got, want := value("creditgate_requests_admitted_total", nil), float64(tally.bulkOK+tally.getOK); got != want {
		t.Errorf("admitted_total = %v, clients saw %v", got, want)
	}
	for _, by := range []string{middleware.ByCredits, middleware.BySubConcurrency, middleware.ByConcurrency} {
		got := value("creditgate_requests_refused_total", map[string]string{"reason": by})
		if want := float64(tally.refused[by]); got != want {
			t.Errorf("refused_total{reason=%q} = %v, clients saw %v", by, got, want)
		}
	}
	if got := value("creditgate_tenant_credits_used", map[string]string{"tenant": ""}); got != float64(spent) {
		t.Errorf("tenant_credits_used = %v, clients were admitted %d", got, spent)
	}
	if got := value("creditgate_tenant_credits_remaining", map[string]string{"tenant": ""}); got != 0 {
		t.Errorf("tenant_credits_remaining = %v, want 0", got)
	}
	if got := value("creditgate_decision_duration_seconds", nil); got != float64(tally.requests) {
		t.Errorf("decision histogram counted %v, clients sent %d", got, tally.requests)
	}
	if got := value("creditgate_in_flight", map[string]string{"app": "sync-app", "class": "complex"}); got != 0 {
		t.Errorf("in_flight{sync-app,complex} = %v after the load", got)
	}
}

func hasLabels(m *dto.Metric, want map[string]string) bool {
	n := 0
	for _, l := range m.Label {
		if v, ok := want[l.GetName()]; ok {
			if v != l.GetValue() {
				return false
			}
			n++
		}
	}
	return n == len(want)
}
