package gateway

import (
	"bytes"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
)

// A snapshot file in a directory that does not exist (a typo in the path)
// restores nothing, as a first start does, and every save then fails: the
// start must say so at once, not a snapshot interval later.
func TestStartSaysSavesWillFail(t *testing.T) {
	up := upstream(t)
	file := filepath.Join(t.TempDir(), "no-such-dir", "state.json")
	g := newGateway(t, "upstream: "+up.URL+"\nsnapshot: {file: "+file+"}\n")
	var buf bytes.Buffer
	g.restore(slog.New(slog.NewTextHandler(&buf, nil)), g.eff.Load().Config)
	if out := buf.String(); !strings.Contains(out, "level=ERROR") || !strings.Contains(out, "no-such-dir") {
		t.Fatalf("the start logged %q; want an ERROR naming the path saves cannot be made in", out)
	}
}
