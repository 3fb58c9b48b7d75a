//go:build unix

package main

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// A snapshot file that is a FIFO (nobody writing) must not stop the
// gateway from starting: it listens, says at ERROR why the snapshot was
// not restored, serves with full pools, and its save on SIGTERM replaces
// the FIFO with a snapshot.
func TestSnapshotFIFODoesNotHang(t *testing.T) {
	crm := newFakeCRM(t, 0)
	snap := filepath.Join(t.TempDir(), "state.json")
	if err := syscall.Mkfifo(snap, 0o600); err != nil {
		t.Skip("no FIFOs here:", err)
	}
	t.Cleanup(func() { // a gateway blocked in open(2) on the FIFO returns
		if f, err := os.OpenFile(snap, os.O_WRONLY|syscall.O_NONBLOCK, 0); err == nil {
			f.Close()
		}
	})
	gw := startGateway(t, nil, "-upstream", crm.srv.URL, "-snapshot", snap)
	l := gw.waitLog("snapshot not restored", time.Second)
	if e, _ := l["error"].(string); !strings.Contains(e, "named pipe") || l["level"] != "ERROR" {
		t.Fatalf("FIFO snapshot log: %v", l)
	}
	if code, rem := call(t, gw, http.MethodGet, "/crm/v8/Leads"); code != http.StatusOK || rem != 51_000-1 {
		t.Fatalf("status %d, remaining %d", code, rem)
	}
	gw.signal(syscall.SIGTERM)
	if code := gw.wait(20 * time.Second); code != 0 {
		t.Fatalf("exit code %d; log:\n%s", code, gw.log())
	}
	if fi, err := os.Lstat(snap); err != nil || !fi.Mode().IsRegular() {
		t.Fatalf("after the stop, %s: %v %v (want the saved snapshot)", snap, fi, err)
	}
}
