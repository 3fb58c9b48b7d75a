package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"time"
)

// fakeCRM is a stand-in for a Zoho-like CRM REST API: a few record, search,
// COQL, convert and bulk routes that answer with plausible JSON after a delay
// that grows with how heavy the call is. It keeps no records, only a counter
// for ids, so memory stays flat however long the demo runs.
type fakeCRM struct {
	nextID atomic.Int64
}

// Simulated service times: heavy API classes are slow, which is why they have
// a sub-concurrency cap.
const (
	latencyGet     = 15 * time.Millisecond
	latencySearch  = 25 * time.Millisecond
	latencyWrite   = 40 * time.Millisecond
	latencyCOQL    = 60 * time.Millisecond
	latencyConvert = 80 * time.Millisecond
	latencyBulk    = 200 * time.Millisecond
)

func (c *fakeCRM) routes() *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /crm/v8/{module}", c.listRecords)
	mux.HandleFunc("GET /crm/v8/{module}/{id}", c.getRecord)
	mux.HandleFunc("POST /crm/v8/{module}", c.writeRecords)
	mux.HandleFunc("POST /crm/v8/{module}/upsert", c.writeRecords)
	mux.HandleFunc("GET /crm/v8/{module}/search", c.search)
	mux.HandleFunc("POST /crm/v8/coql", c.coql)
	mux.HandleFunc("POST /crm/v8/Leads/{id}/actions/convert", c.convert)
	mux.HandleFunc("POST /crm/bulk/v8/read", c.bulkRead)
	return mux
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

type object = map[string]any

func (c *fakeCRM) record(module string) object {
	id := c.nextID.Add(1)
	return object{"id": fmt.Sprintf("%d", 5_000_000_000+id), "Module": module, "Last_Name": fmt.Sprintf("Record %d", id)}
}

func (c *fakeCRM) listRecords(w http.ResponseWriter, r *http.Request) {
	if !sleep(r.Context(), latencyGet) {
		return
	}
	m := r.PathValue("module")
	writeJSON(w, http.StatusOK, object{"data": []object{c.record(m), c.record(m), c.record(m)},
		"info": object{"per_page": 200, "count": 3, "page": 1, "more_records": false}})
}

func (c *fakeCRM) getRecord(w http.ResponseWriter, r *http.Request) {
	if !sleep(r.Context(), latencyGet) {
		return
	}
	writeJSON(w, http.StatusOK, object{"data": []object{c.record(r.PathValue("module"))}})
}

func (c *fakeCRM) search(w http.ResponseWriter, r *http.Request) {
	if !sleep(r.Context(), latencySearch) {
		return
	}
	writeJSON(w, http.StatusOK, object{"data": []object{c.record(r.PathValue("module"))},
		"info": object{"count": 1, "more_records": false}})
}

// writeRecords answers an insert or upsert with one SUCCESS entry per record
// of the {"data":[...]} body, as Zoho does.
func (c *fakeCRM) writeRecords(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Data []json.RawMessage `json:"data"`
	}
	if err := json.NewDecoder(io.LimitReader(r.Body, 4<<20)).Decode(&body); err != nil || len(body.Data) == 0 {
		writeJSON(w, http.StatusBadRequest, object{"code": "INVALID_DATA", "details": object{},
			"message": "invalid data", "status": "error"})
		return
	}
	if !sleep(r.Context(), latencyWrite) {
		return
	}
	out := make([]object, len(body.Data))
	for i := range out {
		out[i] = object{"code": "SUCCESS", "details": object{"id": c.record("")["id"]},
			"message": "record added", "status": "success"}
	}
	writeJSON(w, http.StatusCreated, object{"data": out})
}

func (c *fakeCRM) coql(w http.ResponseWriter, r *http.Request) {
	_, _ = io.Copy(io.Discard, io.LimitReader(r.Body, 4<<20))
	if !sleep(r.Context(), latencyCOQL) {
		return
	}
	writeJSON(w, http.StatusOK, object{"data": []object{c.record("Leads")}, "info": object{"count": 1, "more_records": false}})
}

func (c *fakeCRM) convert(w http.ResponseWriter, r *http.Request) {
	if !sleep(r.Context(), latencyConvert) {
		return
	}
	writeJSON(w, http.StatusOK, object{"data": []object{{
		"Contacts": c.record("Contacts")["id"], "Deals": c.record("Deals")["id"], "Accounts": c.record("Accounts")["id"],
	}}})
}

func (c *fakeCRM) bulkRead(w http.ResponseWriter, r *http.Request) {
	_, _ = io.Copy(io.Discard, io.LimitReader(r.Body, 4<<20))
	if !sleep(r.Context(), latencyBulk) {
		return
	}
	writeJSON(w, http.StatusCreated, object{"data": []object{{"status": "success", "code": "ADDED_SUCCESSFULLY",
		"message": "Added successfully.", "details": object{"id": c.record("")["id"], "operation": "read", "state": "ADDED"}}}})
}

// recordsBody is a {"data":[...]} body of n small records.
func recordsBody(n int) string {
	var b strings.Builder
	b.WriteString(`{"data":[`)
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"Last_Name":"Lead %d","Company":"Acme"}`, i)
	}
	b.WriteString(`]}`)
	return b.String()
}
