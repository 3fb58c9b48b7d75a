// Package design holds the test that keeps DESIGN.md's layer picture true:
// every package of the root module is on it, and each imports only the
// packages on lines below its own.
package design

import (
	"go/build"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

const module = "github.com/creditgate/creditgate/"

// layers returns the root module's packages in the order DESIGN.md's
// "Layers" picture lists them, top first.
func layers(t *testing.T) []string {
	doc, err := os.ReadFile("../../DESIGN.md")
	if err != nil {
		t.Fatal(err)
	}
	_, after, ok := strings.Cut(string(doc), "## Layers")
	if !ok {
		t.Fatal(`DESIGN.md has no "## Layers" section`)
	}
	_, block, ok := strings.Cut(after, "```\n")
	if !ok {
		t.Fatal("the Layers section has no picture")
	}
	var pkgs []string
	for line := range strings.Lines(block) {
		if strings.TrimSpace(line) == "" {
			break // the root module's part ends at the first blank line
		}
		if line[0] != ' ' {
			pkgs = append(pkgs, strings.Fields(line)[0])
		}
	}
	return pkgs
}

// rootPackages returns the root module's packages with non-test Go files,
// but the examples (programs, not layers) and the other modules.
func rootPackages(t *testing.T) []string {
	var pkgs []string
	err := filepath.WalkDir("../..", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel := filepath.ToSlash(strings.TrimPrefix(path, "../../"))
		if d.IsDir() {
			if strings.HasPrefix(d.Name(), ".") && path != "../.." || d.Name() == "testdata" || rel == "examples" {
				return fs.SkipDir
			}
			if _, err := os.Stat(filepath.Join(path, "go.mod")); err == nil && path != "../.." {
				return fs.SkipDir // a module of its own
			}
			return nil
		}
		if strings.HasSuffix(rel, ".go") && !strings.HasSuffix(rel, "_test.go") {
			if dir := filepath.ToSlash(filepath.Dir(rel)); !slices.Contains(pkgs, dir) {
				pkgs = append(pkgs, dir)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return pkgs
}

func TestLayersMatchImports(t *testing.T) {
	order := layers(t)
	if len(order) == 0 {
		t.Fatal("no packages in DESIGN.md's picture")
	}
	for _, p := range rootPackages(t) {
		if !slices.Contains(order, p) {
			t.Errorf("package %s is missing from DESIGN.md's layer picture", p)
		}
	}
	for i, p := range order {
		bp, err := build.ImportDir("../../"+p, 0)
		if err != nil {
			t.Errorf("DESIGN.md lists %s: %v", p, err)
			continue
		}
		for _, imp := range bp.Imports {
			dep, ok := strings.CutPrefix(imp, module)
			if !ok {
				continue
			}
			if j := slices.Index(order, dep); j <= i {
				t.Errorf("%s imports %s, which DESIGN.md's picture puts above it (or not at all)", p, dep)
			}
		}
	}
}
