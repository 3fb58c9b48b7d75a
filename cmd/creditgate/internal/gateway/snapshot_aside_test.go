package gateway

import (
	"errors"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// corruptAside lists the files restoreSnapshot moved file aside to, and
// their contents.
func corruptAside(t *testing.T, file string) map[string]string {
	t.Helper()
	names, err := filepath.Glob(file + ".corrupt-*")
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, n := range names {
		b, err := os.ReadFile(n)
		if err != nil {
			t.Fatal(err)
		}
		got[n] = string(b)
	}
	return got
}

// Two corrupt snapshots moved aside within the same second (two restarts in
// a crash loop) must both be kept: the second may not take the first's
// name and destroy the evidence.
func TestSnapshotCorruptAsideTwiceInOneSecond(t *testing.T) {
	up := upstream(t)
	text := strings.ReplaceAll(tenantsYAML, "%s", up.URL)
	file := filepath.Join(t.TempDir(), "state.json")
	now := time.Unix(1_764_840_000, 0)
	var names []string
	for i, body := range []string{"{first corrupt", "{second corrupt"} {
		if err := os.WriteFile(file, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		g := newGateway(t, text)
		ok, err := restoreSnapshot(g.l, file, now.Add(time.Duration(i)*time.Millisecond))
		if ok || !errors.Is(err, errUnrestorable) {
			t.Fatalf("restore %d = %v, %v", i, ok, err)
		}
		_, aside, found := strings.Cut(err.Error(), "(moved to ")
		if !found {
			t.Fatalf("restore %d: the error does not say where the file went: %v", i, err)
		}
		names = append(names, strings.TrimSuffix(aside, ")"))
	}
	if names[0] == names[1] {
		t.Errorf("both corrupt files moved to %s", names[0])
	}
	got := corruptAside(t, file)
	bodies := slices.Sorted(maps.Values(got))
	if !slices.Equal(bodies, []string{"{first corrupt", "{second corrupt"}) {
		t.Fatalf("files moved aside: %q, want both corrupt snapshots", got)
	}
	if _, err := os.Lstat(file); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("the corrupt file is still at %s: %v", file, err)
	}
}

// A file already at the name the corrupt snapshot would be moved to (an
// operator's copy, or one an attacker placed) is never overwritten.
func TestSnapshotCorruptAsideNeverOverwrites(t *testing.T) {
	up := upstream(t)
	file := filepath.Join(t.TempDir(), "state.json")
	now := time.Unix(1_764_840_000, 0)
	for _, name := range []string{file + ".corrupt-1764840000", file + ".corrupt-1764840000-1"} {
		if err := os.WriteFile(name, []byte("keep "+name), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(file, []byte("{corrupt"), 0o600); err != nil {
		t.Fatal(err)
	}
	g := newGateway(t, strings.ReplaceAll(tenantsYAML, "%s", up.URL))
	if ok, err := restoreSnapshot(g.l, file, now); ok || !errors.Is(err, errUnrestorable) {
		t.Fatalf("restore = %v, %v", ok, err)
	}
	got := corruptAside(t, file)
	for _, name := range []string{file + ".corrupt-1764840000", file + ".corrupt-1764840000-1"} {
		if got[name] != "keep "+name {
			t.Errorf("%s now holds %q", name, got[name])
		}
	}
	if len(got) != 3 || !slices.Contains(slices.Collect(maps.Values(got)), "{corrupt") {
		t.Errorf("files aside: %q, want the two kept and the corrupt snapshot", got)
	}
}
