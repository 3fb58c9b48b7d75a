package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A configuration file past MaxFileBytes (a sparse terabyte, or a path
// linked to /dev/zero) is refused after MaxFileBytes+1 bytes, not read to
// its end: a reload of such a file costs a megabyte.
func TestLoadHugeFileBounded(t *testing.T) {
	dir := t.TempDir()
	sparse := filepath.Join(dir, "huge.yaml")
	f, err := os.Create(sparse)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString("listen: 127.0.0.1:1\n#"); err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(1 << 40); err != nil {
		t.Skip("no sparse files here:", err)
	}
	f.Close()
	paths := []string{sparse}
	if _, err := os.Stat("/dev/zero"); err == nil {
		link := filepath.Join(dir, "zero.yaml")
		if err := os.Symlink("/dev/zero", link); err != nil {
			t.Fatal(err)
		}
		paths = append(paths, link)
	}
	for _, p := range paths {
		if _, err := Load(p); err == nil || !strings.Contains(err.Error(), "larger than 1048576 bytes") {
			t.Errorf("Load(%s) = %v, want it refused as too large", p, err)
		}
	}
}
