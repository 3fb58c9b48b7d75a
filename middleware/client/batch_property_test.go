package client_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"testing/quick"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/creditgate/creditgate/middleware/client"
	"github.com/creditgate/creditgate/profile/zoho"
)

// wop is one single-record write of the property test.
type wop struct {
	method, path, module, op string
	rec                      map[string]any
}

func (w wop) body() string {
	b, _ := json.Marshal(map[string]any{"data": []any{w.rec}})
	return string(b)
}

// seeded are the records both CRMs start with: updates name their ids.
var seeded = []string{"s1", "s2", "s3"}

func seed(crm *fakeCRM) {
	for i, s := range seeded {
		crm.apply("Leads", "insert", 0, map[string]json.RawMessage{"Seq": json.RawMessage(`"` + s + `"`),
			"Last_Name": json.RawMessage(`"seed"`), "Email": json.RawMessage(fmt.Sprintf(`"seed%d@x.test"`, i))})
	}
}

// genOps returns n writes: inserts (new, or of an Email that may exist),
// upserts by Email, updates by id (some of no record), inserts into another
// module with the same Emails, some without a Last_Name (refused when they
// would insert). Emails come from a small pool, so that writes meet.
func genOps(rng *rand.Rand, n int) []wop {
	pool := func() string { return fmt.Sprintf("p%d@x.test", rng.IntN(5)) }
	ops := make([]wop, n)
	for i := range ops {
		rec := map[string]any{"Seq": 1000 + i}
		if rng.IntN(10) > 0 {
			rec["Last_Name"] = fmt.Sprint("n", rng.IntN(100))
		}
		w := wop{method: "POST", path: "/crm/v8/Leads", module: "Leads", op: "insert", rec: rec}
		switch k := rng.IntN(10); {
		case k < 3:
			rec["Email"] = fmt.Sprintf("new%d@x.test", i)
		case k < 5:
			rec["Email"] = pool()
		case k < 7:
			rec["Email"] = pool()
			w.path, w.op = "/crm/v8/Leads/upsert", "upsert"
		case k < 9:
			rec["id"] = "id-" + seeded[rng.IntN(len(seeded))]
			if rng.IntN(5) == 0 {
				rec["id"] = "id-none"
			}
			w.method, w.op = "PUT", "update"
		default:
			rec["Email"] = pool()
			w.path, w.module = "/crm/v8/Contacts", "Contacts"
		}
		ops[i] = w
	}
	return ops
}

// For a random mix of single-record writes sent concurrently, in a known
// order, through batching (batches of at most 4 so that there are many),
// the CRM ends with the same records as when the writes are applied one by
// one in that order; each caller gets the result the one-by-one run gave
// its write; no write is received twice, none is lost.
func TestBatchMatchesOneByOne(t *testing.T) {
	check := func(seedA, seedB uint64) bool {
		ok := false
		synctest.Test(t, func(t *testing.T) { ok = batchMatches(t, rand.New(rand.NewPCG(seedA, seedB))) })
		return ok
	}
	if err := quick.Check(check, &quick.Config{MaxCount: 25}); err != nil {
		t.Fatal(err)
	}
}

func batchMatches(t *testing.T, rng *rand.Rand) bool {
	ops := genOps(rng, 20+rng.IntN(40))
	model := newCRM(t)
	seed(model)
	want := make([]map[string]any, len(ops))
	for i, w := range ops {
		var rec map[string]json.RawMessage
		b, _ := json.Marshal(w.rec)
		require.NoError(t, json.Unmarshal(b, &rec))
		want[i] = model.apply(w.module, w.op, 0, rec)
	}

	crm := newCRM(t)
	seed(crm)
	crm.latency = time.Duration(rng.IntN(3)) * time.Millisecond
	rules := zoho.BatchRules("v8", time.Duration(1+rng.IntN(5))*time.Millisecond)
	for i := range rules {
		rules[i].MaxRecords = 4
	}
	tr := newZoho(t, crm, client.WithBatching(rules...))
	got := make([]answer, len(ops))
	var wg sync.WaitGroup
	for i, w := range ops {
		wg.Go(func() {
			time.Sleep(time.Duration(i) * 100 * time.Microsecond) // arrive in order
			st, body, err := send(context.Background(), tr, w.method, w.path, "ann", w.body())
			got[i] = answer{st, body, err}
		})
	}
	wg.Wait()
	for i, a := range got {
		if !assert.NoError(t, a.err) {
			continue
		}
		r := a.result(t)
		assert.Equal(t, want[i]["status"], r["status"], "write %d (%s %v): %s", i, ops[i].op, ops[i].rec, a.body)
		assert.Equal(t, want[i]["code"], r["code"], "write %d", i)
		if want[i]["status"] == "success" {
			assert.Equal(t, map[bool]int{true: 201, false: 200}[ops[i].op == "insert"], a.status)
		} else {
			assert.Equal(t, 400, a.status)
			assert.True(t, strings.HasPrefix(fmt.Sprint(r["details"]), "map["), a.body)
		}
	}
	assert.Equal(t, model.state(), crm.state())
	assert.Empty(t, crm.dupes())
	assert.Len(t, crm.seqs, len(ops)+len(seeded), "every write received")
	return !t.Failed()
}
