package config

import (
	"strings"
	"testing"
)

// limits.max_header_bytes is clamped to 1 GiB while decoding, so that it
// fits an int; Build then reported the clamped figure, not the file's:
// "want 1024 to 1048576, got 1073741824" for a file that says 2GiB.
func TestMaxHeaderBytesErrorQuotesTheFile(t *testing.T) {
	c, err := Parse("c.yaml", []byte("limits:\n  max_header_bytes: 2GiB\n"))
	if err == nil {
		_, err = Build(c)
	}
	if err == nil {
		t.Fatal("2GiB accepted")
	}
	if !strings.Contains(err.Error(), "c.yaml:2:") || !strings.Contains(err.Error(), "limits.max_header_bytes") || !strings.Contains(err.Error(), "2147483648") {
		t.Errorf("error %q: want it on c.yaml line 2 with the file's figure (2GiB, 2147483648), not the clamped 1073741824", err)
	}
}
