package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// snapshot.file naming the configuration file itself (a slip of flags or
// variables: -config gw.yaml -snapshot gw.yaml) is refused: the gateway
// would read its configuration as a corrupt snapshot, move it aside, and
// save its state in its place, where the next start and every reload look
// for the configuration. The same file under another name (a relative path,
// a symlink) is refused too.
func TestSnapshotFileIsNotTheConfig(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "gw.yaml")
	if err := os.WriteFile(cfg, []byte("upstream: http://127.0.0.1:9000\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "link.yaml")
	if err := os.Symlink(cfg, link); err != nil {
		t.Fatal(err)
	}
	for _, snap := range []string{cfg, dir + "/./gw.yaml", link} {
		c, err := Load(cfg)
		if err != nil {
			t.Fatal(err)
		}
		if err := c.Set("snapshot", snap, Pos{Source: "flag -snapshot"}); err != nil {
			t.Fatal(err)
		}
		_, err = Build(c)
		if err == nil || !strings.Contains(err.Error(), "snapshot.file") || !strings.Contains(err.Error(), "configuration file") {
			t.Errorf("snapshot %s of config %s: Build = %v, want it refused", snap, cfg, err)
		}
	}
}
