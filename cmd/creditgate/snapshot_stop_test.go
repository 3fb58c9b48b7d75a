package main

import (
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// A graceful stop whose last save fails logs that failure and nothing that
// reads as a save: an operator (or a script waiting for "snapshot saved")
// must not take the stop's state for kept when it was not.
func TestStopSaveFailureIsNotLoggedAsSaved(t *testing.T) {
	crm := newFakeCRM(t, 0)
	snap := filepath.Join(t.TempDir(), "missing-dir", "state.json")
	gw := startGateway(t, nil, "-upstream", crm.srv.URL, "-snapshot", snap)
	gw.signal(syscall.SIGTERM)
	if code := gw.wait(20 * time.Second); code != 0 {
		t.Fatalf("exit code %d; log:\n%s", code, gw.log())
	}
	if l := gw.findLog("snapshot not saved"); l == nil || l["level"] != "ERROR" {
		t.Fatalf("no ERROR for the failed save on stop; log:\n%s", gw.log())
	}
	if l := gw.findLog("snapshot saved"); l != nil {
		t.Fatalf("the failed save on stop is also logged as saved: %v; log:\n%s", l, gw.log())
	}
}
