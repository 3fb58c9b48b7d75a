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
	// The savings snippet is the paragraph of Example_savings that starts
	// with its client.New.
	src, err := os.ReadFile("../profile/zoho/example_test.go")
	if err != nil {
		t.Fatal(err)
	}
	_, after, _ := strings.Cut(string(src), "\n\ttr, _ := client.New(nil,")
	para, _, _ := strings.Cut("\ttr, _ := client.New(nil,"+after, "\n\n")
	snippet := strings.ReplaceAll("\n"+para+"\n", "\n\t", "\n")[1:]
	if after == "" || !strings.Contains(string(readme), "```go\n"+snippet+"```") {
		t.Errorf("README.md does not show the savings of profile/zoho's Example_savings as they are:\n%s", snippet)
	}
}
