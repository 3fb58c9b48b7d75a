package gateway

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/creditgate/creditgate/cmd/creditgate/internal/config"
	"github.com/creditgate/creditgate/limiter"
)

// saveSnapshot writes l's state to file so that a crash at any point leaves
// either the old file or the new one whole: a temporary file in the same
// directory, synced, renamed over file, and the directory synced so that the
// rename itself survives a power loss.
func saveSnapshot(l *limiter.Limiter, file string, now time.Time) (err error) {
	dir := filepath.Dir(file)
	tmp, err := os.CreateTemp(dir, tempPrefix(file)+"*")
	if err != nil {
		return fmt.Errorf("snapshot: %w", err)
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if err := l.SnapshotAt(now, tmp); err != nil {
		return fmt.Errorf("snapshot: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		return fmt.Errorf("snapshot: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("snapshot: %w", err)
	}
	if err := os.Rename(tmp.Name(), file); err != nil {
		return fmt.Errorf("snapshot: %w", err)
	}
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync() // not every file system syncs directories; the rename is done
		d.Close()
	}
	return nil
}

// tempPrefix begins the names of saveSnapshot's temporary files; CreateTemp
// ends them with digits.
func tempPrefix(file string) string { return "." + filepath.Base(file) + ".tmp-" }

// removeInterrupted removes the temporary files of saves to file that a
// crash interrupted before their rename (regular files named as
// saveSnapshot names them, nothing else), and returns how many it removed.
// Run calls it before it saves, so none is a save of its own.
func removeInterrupted(file string) (int, error) {
	dir, prefix := filepath.Dir(file), tempPrefix(file)
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return 0, nil // the saves will say so
	}
	if err != nil {
		return 0, err
	}
	n := 0
	var errs []error
	for _, e := range entries {
		rest, ok := strings.CutPrefix(e.Name(), prefix)
		if !ok || rest == "" || strings.Trim(rest, "0123456789") != "" || !e.Type().IsRegular() {
			continue
		}
		if err := os.Remove(filepath.Join(dir, e.Name())); err != nil {
			errs = append(errs, err)
			continue
		}
		n++
	}
	return n, errors.Join(errs...)
}

// probeSave checks that saveSnapshot can make its temporary file beside
// file (the directory exists, is one, and is writable), and leaves nothing.
func probeSave(file string) error {
	tmp, err := os.CreateTemp(filepath.Dir(file), tempPrefix(file)+"*")
	if err != nil {
		return err
	}
	tmp.Close()
	return os.Remove(tmp.Name())
}

// errUnrestorable is wrapped by restoreSnapshot's error for a file it could not
// read; the file has then been moved aside (the error names where).
var errUnrestorable = errors.New("snapshot: file not restored")

// restoreSnapshot loads file into l, a limiter that has not served yet. A
// missing file is a first start, not an error. A corrupt one is moved aside,
// so that the next save does not destroy what an operator may want to read,
// and reported; the limiter then starts with full pools.
//
// Only a regular file (or a symlink to one) is read: anything else (a FIFO,
// which open(2) would block on until a writer came, a directory, a device)
// is reported by its kind and left where it is. O_NONBLOCK makes the open
// of a FIFO return; the kind is then read from the open file, so nothing
// can swap the path between the check and the read.
func restoreSnapshot(l *limiter.Limiter, file string, now time.Time) (restored bool, err error) {
	f, err := os.OpenFile(file, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		// A regular file that cannot be opened (permission denied) is
		// moved aside too: the first save would replace it.
		if fi, lerr := os.Lstat(file); lerr != nil || !fi.Mode().IsRegular() {
			return false, fmt.Errorf("snapshot: %w", err)
		}
		return false, aside(file, now, err)
	}
	if fi, err := f.Stat(); err != nil || !fi.Mode().IsRegular() {
		f.Close()
		if err != nil {
			return false, fmt.Errorf("snapshot: %w", err)
		}
		return false, fmt.Errorf("snapshot: %s is a %s, not a regular file: not read, and left where it is", file, kind(fi.Mode()))
	}
	rerr := l.RestoreAt(now, f)
	f.Close()
	if rerr == nil {
		return true, nil
	}
	return false, aside(file, now, rerr)
}

// aside moves file aside (see moveAside) and returns the error that says
// why (rerr) and where it went.
func aside(file string, now time.Time, rerr error) error {
	to, err := moveAside(file, now)
	if err != nil {
		return fmt.Errorf("%w: %v (and it could not be moved aside: %v)", errUnrestorable, rerr, err)
	}
	return fmt.Errorf("%w: %v (moved to %s)", errUnrestorable, rerr, to)
}

// kind names a file mode that is not a regular file's.
func kind(m fs.FileMode) string {
	switch {
	case m.IsDir():
		return "directory"
	case m&fs.ModeNamedPipe != 0:
		return "named pipe (FIFO)"
	case m&fs.ModeSocket != 0:
		return "socket"
	case m&fs.ModeCharDevice != 0:
		return "character device"
	case m&fs.ModeDevice != 0:
		return "device"
	default:
		return "file of mode " + m.String()
	}
}

// maxAside bounds the names moveAside tries in one second.
const maxAside = 1000

// moveAside renames file to FILE.corrupt-<unix seconds>, or, when that name
// is taken (a file moved aside earlier in the same second, or anything else
// there), FILE.corrupt-<unix seconds>-1, -2, ...: it never replaces what is
// there. os.Rename would, so each name is first claimed by creating an empty
// file with O_EXCL (which also refuses a symlink there rather than follow
// it), and the rename then replaces only that claim.
func moveAside(file string, now time.Time) (string, error) {
	base := fmt.Sprintf("%s.corrupt-%d", file, now.Unix())
	for i := range maxAside {
		aside := base
		if i > 0 {
			aside = fmt.Sprintf("%s-%d", base, i)
		}
		f, err := os.OpenFile(aside, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if errors.Is(err, fs.ErrExist) {
			continue
		}
		if err != nil {
			return "", err
		}
		f.Close()
		if err := os.Rename(file, aside); err != nil {
			os.Remove(aside)
			return "", err
		}
		return aside, nil
	}
	return "", fmt.Errorf("%s and the %d names after it are taken", base, maxAside-1)
}

// snapshots saves the snapshot every interval on a goroutine of its own, and
// once more on stop.
type snapshots struct {
	g    *Gateway
	file string
	quit chan struct{}
	done chan struct{}
}

// startSnapshots starts the periodic saves; a zero file saves nothing.
func (g *Gateway) startSnapshots(c config.Snapshot) *snapshots {
	s := &snapshots{g: g, file: c.File, quit: make(chan struct{}), done: make(chan struct{})}
	if c.File == "" {
		close(s.done)
		return s
	}
	go func() {
		defer close(s.done)
		t := time.NewTicker(c.Interval)
		defer t.Stop()
		for {
			select {
			case <-t.C:
				s.save()
			case <-s.quit:
				return
			}
		}
	}()
	return s
}

// save saves the snapshot and reports whether it did; a failure is logged
// and counted here.
func (s *snapshots) save() bool {
	if err := saveSnapshot(s.g.l, s.file, time.Now()); err != nil {
		s.g.m.snapshots.WithLabelValues("error").Inc()
		s.g.log.Error("snapshot not saved", slog.String("file", s.file), slog.String("error", err.Error()))
		return false
	}
	s.g.m.snapshots.WithLabelValues("ok").Inc()
	s.g.m.lastSave.SetToCurrentTime()
	s.g.log.Debug("snapshot saved", slog.String("file", s.file))
	return true
}

// stop ends the periodic saves and saves once more, logging the save at INFO
// only when it was made (a failure is save's ERROR).
func (s *snapshots) stop() {
	if s.file == "" {
		return
	}
	close(s.quit)
	<-s.done
	if s.save() {
		s.g.log.Info("snapshot saved", slog.String("file", s.file))
	}
}
