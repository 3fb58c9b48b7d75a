package gateway

import (
	"os"
	"path/filepath"
	"testing"
)

// A save interrupted by a crash (after CreateTemp, before the rename)
// leaves its temporary file behind; nothing removed it, so a gateway in a
// crash loop filled its disk with snapshot-sized temporaries. The start
// removes those of its own snapshot file, and nothing else.
func TestStartRemovesInterruptedSaves(t *testing.T) {
	up := upstream(t)
	dir := t.TempDir()
	file := filepath.Join(dir, "state.json")
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	stale := []string{write(".state.json.tmp-123456", `{"format":"creditgate-limiter-snap`), write(".state.json.tmp-987", "")}
	kept := []string{write("state.json.corrupt-1", "{"), write(".other.json.tmp-1", "x"), write("keep", "x"),
		write(".state.json.tmp-", "no digits: not CreateTemp's")}
	g := newGateway(t, "upstream: "+up.URL+"\nsnapshot: {file: "+file+"}\n")
	g.restore(quiet(), g.eff.Load().Config)
	for _, p := range stale {
		if _, err := os.Lstat(p); !os.IsNotExist(err) {
			t.Errorf("%s, an interrupted save's temporary, is still there (%v)", filepath.Base(p), err)
		}
	}
	for _, p := range kept {
		if _, err := os.Lstat(p); err != nil {
			t.Errorf("%s removed: %v", filepath.Base(p), err)
		}
	}
	if n := spend(t, g, "", 1); n != 1 {
		t.Fatal("the gateway does not serve")
	}
}
