package zoho

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/creditgate/creditgate/cost"
)

// compositeCost prices Zoho's composite requests from their JSON body (at
// most maxBody bytes): 2 credits when rollback_on_fail is set, 1 otherwise.
// Zoho charges 2 for such a call when every sub-request succeeds and 1 when
// a rollback happens, which only the response tells; the dearer is never
// too low (a handler that knows the outcome settles it with
// middleware.ReportCost). A value that is neither a boolean nor null may be
// coerced to true upstream (Jackson reads "true" as true), so it costs 2 too.
// The key twice, or but for case, is malformed, as for COQL's select_query.
func compositeCost(maxBody int64) cost.Pricer {
	const key = "rollback_on_fail"
	f := func(r *http.Request) (int64, error) {
		buf, err := cost.ReadBody(r, maxBody)
		if err != nil {
			return 0, err
		}
		if len(bytes.TrimSpace(buf)) == 0 {
			return 1, nil
		}
		var m map[string]json.RawMessage
		if err := json.Unmarshal(buf, &m); err != nil {
			return 0, fmt.Errorf("%w: %v", cost.ErrMalformedBody, err)
		}
		if err := checkKeys(buf, key); err != nil {
			return 0, err
		}
		raw, ok := m[key]
		if !ok {
			return 1, nil
		}
		var on *bool
		if err := json.Unmarshal(raw, &on); err != nil || on != nil && *on {
			return 2, nil
		}
		return 1, nil
	}
	return cost.Pricer{Func: f, Min: 1, Max: 2, MaxBody: maxBody}
}
