package middleware

import "testing"

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
