package middleware

import (
	"strconv"
	"testing"
)

// BenchmarkParseHeaders parses a typical response of each dialect
// (dialectExamples), as a client does after every call.
func BenchmarkParseHeaders(b *testing.B) {
	for _, tc := range dialectExamples {
		h := headerBlock(tc.block)
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if l, err := ParseHeaders(t0, h); err != nil || l.Dialects != tc.want.Dialects {
					b.Fatalf("%+v %v", l, err)
				}
			}
		})
	}
}

// BenchmarkParseHeadersHostile parses fields of n bytes built to make a
// careless scanner quadratic: many list members before a long run of
// spaces, and many Retry-After lines after one padded with spaces. The time
// per byte must not grow with n.
func BenchmarkParseHeadersHostile(b *testing.B) {
	for _, n := range []int{1 << 14, 1 << 17} {
		b.Run(strconv.Itoa(n), func(b *testing.B) {
			h := hostileHeader(n)
			b.ReportAllocs()
			b.SetBytes(int64(2 * n))
			for b.Loop() {
				if _, err := ParseHeaders(t0, h); err == nil {
					b.Fatal("the duplicate Retry-After lines are malformed")
				}
			}
		})
	}
}
