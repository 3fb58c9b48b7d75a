package client

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"
)

// record is one single-record write, parsed for batching.
type record struct {
	raw    []byte   // the record, compact JSON
	rest   []byte   // the body's other top-level members, compact, keys sorted
	tokens []string // what identifies the record: "field\x00value", lower case
}

// parseSingle parses a body {member:[record], ...} that holds exactly one
// record, an object; ok is false for anything else (sent as it is).
func parseSingle(body []byte, member string, keyFields []string) (rec record, ok bool) {
	var top map[string]json.RawMessage
	if json.Unmarshal(body, &top) != nil || top == nil {
		return record{}, false
	}
	var recs []json.RawMessage
	if json.Unmarshal(top[member], &recs) != nil || len(recs) != 1 {
		return record{}, false
	}
	var fields map[string]json.RawMessage
	if json.Unmarshal(recs[0], &fields) != nil || fields == nil {
		return record{}, false
	}
	delete(top, member)
	rest, err := json.Marshal(top) // sorted keys, values compacted
	if err != nil {
		return record{}, false
	}
	var raw bytes.Buffer
	if json.Compact(&raw, recs[0]) != nil {
		return record{}, false
	}
	rec = record{raw: raw.Bytes(), rest: rest}
	for _, f := range keyFields {
		v, has := fields[f]
		if !has || string(v) == "null" {
			continue
		}
		// A string by its value, however escaped ("s:" starts no other
		// JSON value); anything else by its compact text.
		var str string
		var cv bytes.Buffer
		if json.Unmarshal(v, &str) == nil {
			rec.tokens = append(rec.tokens, f+"\x00s:"+strings.ToLower(str))
		} else if json.Compact(&cv, v) == nil {
			rec.tokens = append(rec.tokens, f+"\x00"+strings.ToLower(cv.String()))
		}
	}
	return rec, true
}

// batchBody is {member:[records...], rest's members...}.
func batchBody(member string, rest []byte, recs [][]byte) []byte {
	name, _ := json.Marshal(member)
	n := len(name) + len(rest) + 8
	for _, r := range recs {
		n += len(r) + 1
	}
	b := make([]byte, 0, n)
	b = append(b, '{')
	b = append(b, name...)
	b = append(b, ':', '[')
	for i, r := range recs {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, r...)
	}
	b = append(b, ']')
	if inner := bytes.TrimSpace(rest[1 : len(rest)-1]); len(inner) > 0 {
		b = append(b, ',')
		b = append(b, inner...)
	}
	return append(b, '}')
}

// splitResults returns the n results under member in a batch's answer, in
// order, and its other top-level members; ok is false if the answer does
// not have exactly n objects there.
func splitResults(body []byte, member string, n int) (results []json.RawMessage, others map[string]json.RawMessage, ok bool) {
	if json.Unmarshal(body, &others) != nil || others == nil {
		return nil, nil, false
	}
	if json.Unmarshal(others[member], &results) != nil || len(results) != n {
		return nil, nil, false
	}
	for _, r := range results {
		if len(r) == 0 || r[0] != '{' {
			return nil, nil, false
		}
	}
	delete(others, member)
	return results, others, true
}

// succeeded reports whether a result's "status" is "success".
func succeeded(result json.RawMessage) bool {
	var r struct {
		Status string `json:"status"`
	}
	return json.Unmarshal(result, &r) == nil && r.Status == "success"
}

// oneRecord is the answer to a one-record call carrying result, the i-th of
// its batch: {member:[result], others...}, with the JSON paths that named
// the i-th record ("$.data[i]") renumbered to the first.
func oneRecord(member string, result json.RawMessage, i int, others map[string]json.RawMessage) []byte {
	if i > 0 {
		from := []byte(`"$.` + member + "[" + strconv.Itoa(i) + "]")
		to := []byte(`"$.` + member + "[0]")
		result = bytes.ReplaceAll(result, from, to)
	}
	body := map[string]any{member: []json.RawMessage{result}}
	for k, v := range others {
		body[k] = v
	}
	b, err := json.Marshal(body)
	if err != nil { // the raw messages came from a valid answer
		return append(append([]byte(`{"`+member+`":[`), result...), ']', '}')
	}
	return b
}
