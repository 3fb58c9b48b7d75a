package gateway

import (
	"context"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/creditgate/creditgate/cmd/creditgate/internal/config"
)

// A reload whose read does not return (the file is a FIFO nobody writes,
// or on a mount that hangs) must not stop a graceful shutdown: Run still
// drains, saves the snapshot and returns when its context ends.
func TestShutdownDuringBlockedReload(t *testing.T) {
	up := upstream(t)
	addr := freeAddr(t)
	snap := filepath.Join(t.TempDir(), "state.json")
	eff := effective(t, "listen: "+addr+"\ndashboard: {enabled: false}\ntimeouts: {shutdown: 1s}\n"+
		"snapshot: {file: "+snap+", interval: 1h}\nupstream: "+up.URL+"\n")
	reading, release := make(chan struct{}), make(chan struct{})
	releaseOnce := sync.OnceFunc(func() { close(release) })
	t.Cleanup(releaseOnce)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	hup := make(chan struct{})
	done := make(chan error, 1)
	go func() {
		done <- Run(ctx, eff, Options{
			Logger: quiet(), Hangup: hup,
			Reload: func() (*config.Effective, error) {
				close(reading)
				<-release
				return eff, nil
			},
		})
	}()
	awaitListening(t, addr)
	hup <- struct{}{}
	<-reading
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		releaseOnce()
		<-done
		t.Fatal("Run did not return within 5 s of its context's end while a reload was reading")
	}
	if fi, err := os.Stat(snap); err != nil || !fi.Mode().IsRegular() {
		t.Fatalf("no snapshot saved on the stop: %v", err)
	}
}
