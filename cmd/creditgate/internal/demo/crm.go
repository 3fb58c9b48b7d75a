package demo

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sync/atomic"
	"time"
)

// crm is the demo's upstream: a stand-in for a Zoho-like CRM REST API with
// the routes the integrations call (records, search, COQL, lead convert,
// bulk read, metadata), answering plausible JSON after a delay that grows
// with how heavy the call is, scaled with the demo's day. It keeps no
// records, only a counter for ids, so its memory stays flat.
type crm struct {
	scale  float64 // the demo's day over 10 s: the delays below are for a 10 s day
	nextID atomic.Int64
}

// Service times for a 10 s day: heavy API classes are slow, which is why
// they have a sub-concurrency cap.
const (
	latencyGet     = 15 * time.Millisecond
	latencyWrite   = 40 * time.Millisecond
	latencyCOQL    = 60 * time.Millisecond
	latencyConvert = 80 * time.Millisecond
	latencyBulk    = 200 * time.Millisecond
)

func (c *crm) routes() *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /crm/v8/{module}", c.list)
	mux.HandleFunc("GET /crm/v8/{module}/{id}", c.get)
	mux.HandleFunc("GET /crm/v8/settings/{what}", c.metadata)
	mux.HandleFunc("GET /crm/v8/users", c.metadata)
	mux.HandleFunc("POST /crm/v8/{module}", c.write(http.StatusCreated))
	mux.HandleFunc("POST /crm/v8/{module}/upsert", c.write(http.StatusOK))
	mux.HandleFunc("POST /crm/v8/coql", c.coql)
	mux.HandleFunc("POST /crm/v8/Leads/{id}/actions/convert", c.convert)
	mux.HandleFunc("POST /crm/bulk/v8/read", c.bulkRead)
	return mux
}

// wait sleeps d scaled to the day, or until the caller goes away; it
// reports whether the call should still be answered.
func (c *crm) wait(r *http.Request, d time.Duration) bool {
	t := time.NewTimer(time.Duration(float64(d) * c.scale))
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-r.Context().Done():
		return false
	}
}

type object = map[string]any

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func (c *crm) id() string { return fmt.Sprint(5_000_000_000 + c.nextID.Add(1)) }

func (c *crm) record(module string) object {
	id := c.id()
	return object{"id": id, "Module": module, "Last_Name": "Record " + id}
}

func (c *crm) list(w http.ResponseWriter, r *http.Request) {
	if c.wait(r, latencyGet) {
		m := r.PathValue("module")
		writeJSON(w, http.StatusOK, object{"data": []object{c.record(m), c.record(m)},
			"info": object{"per_page": 200, "count": 2, "page": 1, "more_records": false}})
	}
}

func (c *crm) get(w http.ResponseWriter, r *http.Request) {
	if c.wait(r, latencyGet) {
		writeJSON(w, http.StatusOK, object{"data": []object{c.record(r.PathValue("module"))}})
	}
}

func (c *crm) metadata(w http.ResponseWriter, r *http.Request) {
	if c.wait(r, latencyGet) {
		writeJSON(w, http.StatusOK, object{"fields": []object{
			{"api_name": "Last_Name", "data_type": "text"}, {"api_name": "Email", "data_type": "email"}}})
	}
}

// write answers an insert or upsert with one SUCCESS entry per record of
// the {"data":[...]} body, as Zoho does.
func (c *crm) write(status int) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var body struct {
			Data []json.RawMessage `json:"data"`
		}
		if err := json.NewDecoder(io.LimitReader(r.Body, 4<<20)).Decode(&body); err != nil || len(body.Data) == 0 {
			writeJSON(w, http.StatusBadRequest, object{"code": "INVALID_DATA", "details": object{},
				"message": "invalid data", "status": "error"})
			return
		}
		if !c.wait(r, latencyWrite) {
			return
		}
		out := make([]object, len(body.Data))
		for i := range out {
			out[i] = object{"code": "SUCCESS", "details": object{"id": c.id()}, "message": "record saved", "status": "success"}
		}
		writeJSON(w, status, object{"data": out})
	}
}

func (c *crm) coql(w http.ResponseWriter, r *http.Request) {
	_, _ = io.Copy(io.Discard, io.LimitReader(r.Body, 4<<20))
	if c.wait(r, latencyCOQL) {
		writeJSON(w, http.StatusOK, object{"data": []object{c.record("Deals")}, "info": object{"count": 1, "more_records": false}})
	}
}

func (c *crm) convert(w http.ResponseWriter, r *http.Request) {
	if c.wait(r, latencyConvert) {
		writeJSON(w, http.StatusOK, object{"data": []object{{"Contacts": c.id(), "Deals": c.id(), "Accounts": c.id()}}})
	}
}

func (c *crm) bulkRead(w http.ResponseWriter, r *http.Request) {
	_, _ = io.Copy(io.Discard, io.LimitReader(r.Body, 4<<20))
	if c.wait(r, latencyBulk) {
		writeJSON(w, http.StatusCreated, object{"data": []object{{"status": "success", "code": "ADDED_SUCCESSFULLY",
			"message": "Added successfully.", "details": object{"id": c.id(), "operation": "read", "state": "ADDED"}}}})
	}
}
