//go:build unix

package gateway

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Symlinks never lead a save or a move aside into writing another file:
// a save replaces a symlink at the snapshot path (the rename replaces the
// link, not its target), a corrupt snapshot reached through a symlink is
// moved aside as the link, and a symlink already at the name a corrupt file
// would be moved to is left alone, as is its target.
func TestSnapshotSymlinksNotFollowedIntoWrites(t *testing.T) {
	up := upstream(t)
	text := strings.ReplaceAll(tenantsYAML, "%s", up.URL)
	now := time.Unix(1_764_840_000, 0)
	dir, elsewhere := t.TempDir(), t.TempDir()
	victim := filepath.Join(elsewhere, "victim")
	const precious = "{not yours to overwrite"
	check := func(when string) {
		t.Helper()
		if b, err := os.ReadFile(victim); err != nil || string(b) != precious {
			t.Fatalf("%s: the symlink's target now holds %q (%v)", when, b, err)
		}
	}
	if err := os.WriteFile(victim, []byte(precious), 0o600); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, "state.json")

	// The path links to the victim, which does not restore (it is no snapshot).
	if err := os.Symlink(victim, file); err != nil {
		t.Fatal(err)
	}
	g := newGateway(t, text)
	ok, err := restoreSnapshot(g.l, file, now)
	if ok || !errors.Is(err, errUnrestorable) {
		t.Fatalf("restore through a symlink = %v, %v", ok, err)
	}
	check("after the move aside")
	if fi, err := os.Lstat(file + ".corrupt-1764840000"); err != nil || fi.Mode()&os.ModeSymlink == 0 {
		t.Fatalf("moved aside: %v %v, want the link itself", fi, err)
	}

	// A save over a symlink replaces the link.
	if err := os.Symlink(victim, file); err != nil {
		t.Fatal(err)
	}
	spend(t, g, "acme", 1)
	if err := saveSnapshot(g.l, file, now); err != nil {
		t.Fatal(err)
	}
	check("after a save")
	if fi, err := os.Lstat(file); err != nil || !fi.Mode().IsRegular() {
		t.Fatalf("after a save the path is %v (%v), want the snapshot", fi, err)
	}

	// A symlink at the name the next corrupt file would take.
	if err := os.WriteFile(file, []byte("{corrupt"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(file + ".corrupt-1764840000"); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(victim, file+".corrupt-1764840000"); err != nil {
		t.Fatal(err)
	}
	if ok, err := restoreSnapshot(newGateway(t, text).l, file, now); ok || !errors.Is(err, errUnrestorable) ||
		!strings.Contains(err.Error(), "moved to "+file+".corrupt-1764840000-1") {
		t.Fatalf("restore = %v, %v", ok, err)
	}
	check("after a move aside onto a symlink's name")
}

// A corrupt snapshot in a directory the gateway cannot write to is left
// where it is, and the error says both why it did not restore and why it
// was not moved. (Skipped as root, whom permissions do not stop.)
func TestSnapshotCorruptInUnwritableDir(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Skip("root writes to any directory")
	}
	up := upstream(t)
	dir := t.TempDir()
	file := filepath.Join(dir, "state.json")
	if err := os.WriteFile(file, []byte("{corrupt"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o500); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.Chmod(dir, 0o700) })
	g := newGateway(t, strings.ReplaceAll(tenantsYAML, "%s", up.URL))
	ok, err := restoreSnapshot(g.l, file, time.Unix(1_764_840_000, 0))
	if ok || !errors.Is(err, errUnrestorable) || !strings.Contains(err.Error(), "could not be moved aside") ||
		!strings.Contains(err.Error(), "permission denied") {
		t.Fatalf("restore = %v, %v", ok, err)
	}
	if b, err := os.ReadFile(file); err != nil || string(b) != "{corrupt" {
		t.Fatalf("the corrupt file: %q %v", b, err)
	}
	if aside, _ := filepath.Glob(file + ".corrupt-*"); len(aside) != 0 {
		t.Fatalf("left behind: %v", aside)
	}
	if n := spend(t, g, "acme", 1); n != 1 {
		t.Fatal("the gateway does not serve")
	}
}

// A snapshot the gateway may not read (restored from a backup under
// another owner, say) is the state an operator will want back once the
// permissions are fixed: like a corrupt one, it is moved aside, so that
// the first save does not replace it with the fresh pools. (Skipped as
// root, whom permissions do not stop.)
func TestSnapshotUnreadableMovedAside(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Skip("root reads any file")
	}
	up := upstream(t)
	file := filepath.Join(t.TempDir(), "state.json")
	g := newGateway(t, strings.ReplaceAll(tenantsYAML, "%s", up.URL))
	spend(t, g, "acme", 3)
	now := time.Unix(1_764_840_000, 0)
	if err := saveSnapshot(g.l, file, now); err != nil {
		t.Fatal(err)
	}
	saved, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(file, 0); err != nil {
		t.Fatal(err)
	}
	g2 := newGateway(t, strings.ReplaceAll(tenantsYAML, "%s", up.URL))
	ok, err := restoreSnapshot(g2.l, file, now)
	if ok || err == nil || !strings.Contains(err.Error(), "permission denied") ||
		!strings.Contains(err.Error(), "moved to "+file+".corrupt-1764840000") {
		t.Fatalf("restore = %v, %v; want it refused and moved aside", ok, err)
	}
	if err := saveSnapshot(g2.l, file, now); err != nil { // the first periodic save
		t.Fatal(err)
	}
	aside := file + ".corrupt-1764840000"
	if err := os.Chmod(aside, 0o600); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(aside); err != nil || string(b) != string(saved) {
		t.Fatalf("the unreadable snapshot was not kept: %v", err)
	}
}
