// Package examples holds the README's complete programs; this test keeps
// the README's copies of them identical to the files the build compiles.
package examples

import (
	"os"
	"strings"
	"testing"
)

func TestREADMEShowsTheExamples(t *testing.T) {
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"server/main.go", "client/main.go"} {
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(readme), "```go\n"+string(src)+"```") {
			t.Errorf("README.md does not show examples/%s as it is (paste it in a ```go block)", f)
		}
	}
}
