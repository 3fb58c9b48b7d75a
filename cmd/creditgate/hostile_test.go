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

// SIGTERM while a SIGHUP reload is stuck reading the configuration (the
// file replaced by a FIFO nobody writes to) still stops the gateway
// gracefully: it drains, saves the snapshot and exits 0, rather than
// waiting for the read, after which only a second signal (a kill, with
// no save) would end it.
func TestSIGTERMDuringStuckReload(t *testing.T) {
	crm := newFakeCRM(t, 0)
	dir := t.TempDir()
	cfg := writeFile(t, dir, "gw.yaml", "upstream: "+crm.srv.URL+"\n")
	snap := filepath.Join(dir, "state.json")
	gw := startGateway(t, nil, "-config", cfg, "-snapshot", snap)
	spendBulk(t, gw, 2)
	if err := os.Remove(cfg); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(cfg, 0o600); err != nil {
		t.Skip("no FIFOs here:", err)
	}
	gw.signal(syscall.SIGHUP)
	// An open for writing succeeds once the gateway has the FIFO open for
	// reading; kept open, the gateway's read then waits for data.
	var w *os.File
	for deadline := time.Now().Add(10 * time.Second); ; {
		f, err := os.OpenFile(cfg, os.O_WRONLY|syscall.O_NONBLOCK, 0)
		if err == nil {
			w = f
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the gateway did not open the configuration on SIGHUP: %v", err)
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Cleanup(func() { w.Close() })
	gw.signal(syscall.SIGTERM)
	if code := gw.wait(10 * time.Second); code != 0 {
		t.Fatalf("exit code %d; log:\n%s", code, gw.log())
	}
	gw.waitLog("snapshot saved", time.Second)
}

// A SIGHUP during the drain that SIGTERM began neither kills the gateway
// (SIGHUP's default action) nor reloads: the call in flight finishes, the
// snapshot is saved, the exit is 0.
func TestSIGHUPDuringDrain(t *testing.T) {
	crm := newFakeCRM(t, 0)
	hold := make(chan struct{})
	crm.mu.Lock()
	crm.hold = hold
	crm.mu.Unlock()
	dir := t.TempDir()
	cfg := writeFile(t, dir, "gw.yaml", "upstream: "+crm.srv.URL+"\n")
	gw := startGateway(t, nil, "-config", cfg, "-snapshot", filepath.Join(dir, "state.json"))
	got := make(chan int, 1)
	go func() {
		resp, err := http.Get("http://" + gw.proxy + "/crm/v8/Leads/slow")
		if err != nil {
			got <- 0
			return
		}
		resp.Body.Close()
		got <- resp.StatusCode
	}()
	<-crm.arrived
	gw.signal(syscall.SIGTERM)
	gw.waitLog("shutting down", 5*time.Second)
	gw.signal(syscall.SIGHUP)
	time.Sleep(50 * time.Millisecond) // let it arrive while the call is held
	close(hold)
	if code := <-got; code != http.StatusOK {
		t.Fatalf("the call in flight: status %d", code)
	}
	if code := gw.wait(10 * time.Second); code != 0 {
		t.Fatalf("exit code %d; log:\n%s", code, gw.log())
	}
	gw.waitLog("snapshot saved", time.Second)
	if l := gw.findLog("configuration reloaded"); l != nil {
		t.Fatalf("reloaded during the stop: %v", l)
	}
}
