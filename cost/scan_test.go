package cost

import (
	"strings"
	"testing"
)

// checkCount holds countRecords to the encoding/json reference on one body.
func checkCount(t testing.TB, body, key string) {
	t.Helper()
	got, gerr := countRecords([]byte(body), []byte(key))
	want, werr := countRecordsJSON([]byte(body), key)
	if (gerr == nil) != (werr == nil) || got != want {
		t.Fatalf("key %q, body %.80q: got %d, %v; encoding/json %d, %v", key, body, got, gerr, want, werr)
	}
}

func TestCountRecordsAgrees(t *testing.T) {
	for _, body := range []string{
		`{"data":[0,0,0]}`, ` {"data" : [ 1 , "a" , {"b":[null,true,false]} , [] , {} ] } `,
		`null`, ` null `, `nul`, `nullx`, `{}`, `{ }`, `{"data":null}`, `{"data":nul}`,
		`{"data":[]}`, `{"data":[ ]}`, `{"data":[1,]}`, `{"data":[,1]}`, `{"data":[1 2]}`,
		`{"a":1,}`, `{,"a":1}`, `{"a" 1}`, `{"a":1 "b":2}`, `{"a"}`, `{1:2}`, `{"a":}`,
		`{"data":[-0,1.5e+3,-2E-2,0.1,10]}`, `{"data":[01]}`, `{"data":[1.]}`, `{"data":[.5]}`,
		`{"data":[+1]}`, `{"data":[-]}`, `{"data":[1e]}`, `{"data":[1e+]}`, `{"data":[0x1]}`,
		`{"data":["a\"b\\c\/d\b\f\n\r\t\u00e9\uD83D\uDE00"]}`, `{"data":["\x"]}`, `{"data":["\u12"]}`,
		"{\"data\":[\"a\x01\"]}", "{\"data\":[\"\xff\xfe\"]}", "{\"d\xffata\":[]}",
		`{"data":[tru]}`, `{"data":[True]}`, `{"data":[1]}}`, `{"data":[1]`, `{"data":[1`,
		`{"data":[{"a":1,"b":[{"c":{}}]}],"x":{"y":[1,{"z":null}]}}`, `{"data":[{"a":1,}]}`,
		`{"data":[{"a"}]}`, `{"data":[{"a":1]}`, `{"data":[[1}]}`, `{"data":[[1],[2,[3]]]}`,
		`{"data":[1],"data":[2]}`, `{"Data":[1]}`, `{"\u0044ata":[1]}`, `{"\u0064ata":[1,2]}`,
		`{"data":{}}`, `{"data":"x"}`, `{"data":1}`, `[]`, `"data"`, `1`, ``, ` `, "\ufeff{}",
		`{"data":[1]} `, `{"data":[1]} {}`, `{"data":[1]}x`, "{\"data\":[1]}\n\t\r ",
		`{"a":"\ud800","data":[1]}`, `{"\ud800data":[1]}`, `{"dat\u0061":[1,2,3]}`,
	} {
		checkCount(t, body, "data")
	}
}

func TestCountRecordsKeys(t *testing.T) {
	// Keys fold as strings.EqualFold does, on the decoded key: U+212A
	// (Kelvin) is "k" but for case, U+017F (long s) is "s".
	for _, tc := range []struct{ body, key string }{
		{`{"k":[1],"K":[]}`, "k"}, {`{"\u212a":[1]}`, "k"}, {"{\"\u212a\":[1]}", "k"},
		{`{"\u017f":[1,2]}`, "s"}, {`{"S":[1]}`, "s"}, {`{"rows":[1,2]}`, "rows"},
		{`{"\u00e9t\u00e9":[1]}`, "été"}, {`{"\u00c9T\u00c9":[1]}`, "été"},
		{`{"\ud83d\ude00":[1,2]}`, "😀"}, {`{"\ud83d":[1,2]}`, "\ufffd"}, {"{\"\xff\":[1]}", "\ufffd"},
		{`{"` + strings.Repeat(`\u0061`, 40) + `":[1]}`, strings.Repeat("a", 40)},
		{`{"` + strings.Repeat(`\u0061`, 40) + `":[1]}`, strings.Repeat("A", 40)},
		{`{"` + strings.Repeat(`\u0061`, 40) + `":[1]}`, "a"},
	} {
		checkCount(t, tc.body, tc.key)
	}
}

func TestCountRecordsDepth(t *testing.T) {
	// encoding/json refuses values nested deeper than 10000, counted from
	// each record (and each other top-level value) on its own.
	for _, depth := range []int{maxDepth - 1, maxDepth, maxDepth + 1} {
		deep := strings.Repeat("[", depth) + strings.Repeat("]", depth)
		checkCount(t, `{"data":[`+deep+`,1]}`, "data")
		checkCount(t, `{"x":`+deep+`,"data":[1]}`, "data")
		objs := strings.Repeat(`{"a":`, depth) + "1" + strings.Repeat("}", depth)
		checkCount(t, `{"data":[`+objs+`]}`, "data")
	}
	if _, err := countRecords([]byte(`{"data":[`+strings.Repeat("[", maxDepth+1)), []byte("data")); err == nil {
		t.Fatal("accepted a record nested too deep")
	}
}

func TestCountRecordsAllocs(t *testing.T) {
	// Issue #13: the Decoder allocated for every record.
	body := []byte(`{"data":[` + strings.Repeat(`{"Last_Name":"x\u00e9","n":[1,2.5e3,true]},`, 999) + `0],"trigger":["workflow"]}`)
	key := []byte("data")
	allocs := testing.AllocsPerRun(20, func() {
		if n, err := countRecords(body, key); n != 1000 || err != nil {
			t.Fatal(n, err)
		}
	})
	if allocs != 0 {
		t.Errorf("countRecords allocates %v times for 1000 records", allocs)
	}
}

func FuzzCountRecords(f *testing.F) {
	f.Add([]byte(`{"data":[1,2,3]}`), "data")
	f.Add([]byte(`{"data":[`), "data")
	f.Add([]byte(`{"data":[1,2,3],"Data":null}`), "data")
	f.Add([]byte(`{"\u0064ata":[1,2],"x":{"Data":[]}}`), "data")
	f.Add([]byte(`{"data":[1]} {"data":[1,2]}`), "data")
	f.Add([]byte(`{"a":[{"b":"\ud83d\ude00"},-1.5e3,null],"\u212a":[1]}`), "k")
	f.Add([]byte(` null `), "data")
	f.Add([]byte(`{"data":[[[[[]]]],{"a":{"b":[]}}]}`), "data")
	f.Add([]byte("{\"\xff\":[1],\"x\":\"\\ud800\"}"), "\ufffd")
	f.Fuzz(func(t *testing.T, body []byte, key string) {
		if key == "" {
			key = "data"
		}
		checkCount(t, string(body), key)
	})
}
