//go:build unix

package gateway

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// restoreWithin runs restoreSnapshot and fails the test if it has not
// returned within a few seconds; unblock then ends it.
func restoreWithin(t *testing.T, g *Gateway, file string, unblock func()) (bool, error) {
	t.Helper()
	type result struct {
		ok  bool
		err error
	}
	done := make(chan result, 1)
	go func() {
		ok, err := restoreSnapshot(g.l, file, time.Unix(1_764_840_000, 0))
		done <- result{ok, err}
	}()
	select {
	case r := <-done:
		return r.ok, r.err
	case <-time.After(5 * time.Second):
		unblock()
		<-done
		t.Fatalf("restoreSnapshot(%s) still blocked after 5 s: the gateway would never start", file)
		return false, nil
	}
}

// unblockFIFO opens fifo for writing and closes it: a reader blocked in
// open, or in read, returns.
func unblockFIFO(fifo string) func() {
	return func() {
		if f, err := os.OpenFile(fifo, os.O_WRONLY|syscall.O_NONBLOCK, 0); err == nil {
			f.Close()
		}
	}
}

// A snapshot path that is not a regular file (a FIFO nobody writes to, a
// directory, a symlink to a FIFO) is not read, not moved, and reported by
// its kind; restoreSnapshot returns at once. Opening a FIFO for reading
// blocks until a writer comes: the gateway would hang before listening.
func TestSnapshotNotARegularFile(t *testing.T) {
	up := upstream(t)
	text := strings.ReplaceAll(tenantsYAML, "%s", up.URL)
	for _, tc := range []struct {
		name string
		make func(t *testing.T, file string) (unblock func())
		want string
	}{
		{"fifo", func(t *testing.T, file string) func() {
			if err := syscall.Mkfifo(file, 0o600); err != nil {
				t.Skip("no FIFOs here:", err)
			}
			return unblockFIFO(file)
		}, "named pipe"},
		{"directory", func(t *testing.T, file string) func() {
			if err := os.Mkdir(file, 0o700); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(file, "keep"), []byte("x"), 0o600); err != nil {
				t.Fatal(err)
			}
			return func() {}
		}, "directory"},
		{"symlink to a fifo", func(t *testing.T, file string) func() {
			fifo := filepath.Join(t.TempDir(), "pipe")
			if err := syscall.Mkfifo(fifo, 0o600); err != nil {
				t.Skip("no FIFOs here:", err)
			}
			if err := os.Symlink(fifo, file); err != nil {
				t.Fatal(err)
			}
			return unblockFIFO(fifo)
		}, "named pipe"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			file := filepath.Join(t.TempDir(), "state.json")
			unblock := tc.make(t, file)
			before, err := os.Lstat(file)
			if err != nil {
				t.Fatal(err)
			}
			g := newGateway(t, text)
			ok, err := restoreWithin(t, g, file, unblock)
			if ok || err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "not a regular file") {
				t.Fatalf("restore = %v, %v; want an error naming a %s, not a regular file", ok, err, tc.want)
			}
			after, err := os.Lstat(file)
			if err != nil || after.Mode() != before.Mode() {
				t.Fatalf("%s was moved or changed: %v %v", file, after, err)
			}
			if aside, _ := filepath.Glob(file + ".corrupt-*"); len(aside) != 0 {
				t.Fatalf("moved aside: %v", aside)
			}
			if n := spend(t, g, "acme", 1); n != 1 {
				t.Fatal("the gateway does not serve")
			}
		})
	}
}
