package jsonstr

import (
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestAppend(t *testing.T) {
	for _, s := range []string{"", "plain", "q\"uote\\", "\x00\x1f\n", "<script>&", "héllo", "bad\xffutf8"} {
		raw := Append(nil, s)
		var got string
		require.NoError(t, json.Unmarshal(raw, &got), "%q -> %s", s, raw)
		if s == "bad\xffutf8" {
			assert.Equal(t, "bad\ufffdutf8", got)
			continue
		}
		assert.Equal(t, s, got)
		assert.NotContains(t, string(raw), "<")
	}
}

func TestAppendAllocs(t *testing.T) {
	buf := make([]byte, 0, 64)
	assert.Zero(t, testing.AllocsPerRun(100, func() { buf = Append(buf[:0], "bu\"lk<") }))
}

func FuzzAppend(f *testing.F) {
	for _, s := range []string{"", "bulk", "q\"\\", "\x00\x7f<>&", "héllo\u2028", "bad\xff\xfe"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		raw := Append(nil, s)
		var got string
		if err := json.Unmarshal(raw, &got); err != nil {
			t.Fatalf("%q -> invalid JSON %s: %v", s, raw, err)
		}
		if want := strings.ToValidUTF8(s, "\ufffd"); utf8.ValidString(s) && got != want {
			t.Fatalf("%q -> %q", s, got)
		}
		if strings.ContainsAny(string(raw), "<>&") {
			t.Fatalf("%q -> unescaped markup characters in %s", s, raw)
		}
	})
}
