package cost

import (
	"fmt"
	"strings"
	"testing"
)

// recordsBody returns a body of about size bytes: {"data":[0,0,…]} (shape
// zeros, the case of issue #13) or an array of small records.
func recordsBody(shape string, size int) []byte {
	elem := "0,"
	if shape == "records" {
		elem = `{"Last_Name":"Smith","Email":"s@example.com","Amount":1250.5,"Tags":["a","b"]},`
	}
	n := max((size-len(`{"data":[0]}`))/len(elem), 0)
	return []byte(`{"data":[` + strings.Repeat(elem, n) + `0]}`)
}

// BenchmarkCountRecords measures countRecords beside its encoding/json
// reference, in bytes a second (ns/byte = 1000/MB/s).
func BenchmarkCountRecords(b *testing.B) {
	key := []byte("data")
	for _, shape := range []string{"zeros", "records"} {
		for _, size := range []int{1 << 10, 64 << 10, 4 << 20} {
			body := recordsBody(shape, size)
			for _, impl := range []string{"scanner", "encoding-json"} {
				name := fmt.Sprintf("shape=%s/size=%dKiB/impl=%s", shape, size>>10, impl)
				b.Run(name, func(b *testing.B) {
					b.SetBytes(int64(len(body)))
					b.ReportAllocs()
					for b.Loop() {
						var err error
						if impl == "scanner" {
							_, err = countRecords(body, key)
						} else {
							_, err = countRecordsJSON(body, "data")
						}
						if err != nil {
							b.Fatal(err)
						}
					}
				})
			}
		}
	}
}
