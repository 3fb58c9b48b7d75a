package config

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

func (b *builder) misc(e *Effective) {
	c := b.c
	if c.Snapshot.File != "" && c.Snapshot.Interval < time.Second {
		b.fail("snapshot.interval", "want at least 1s, got %v", c.Snapshot.Interval)
	}
	if c.Snapshot.File != "" && c.File != "" && sameFile(c.Snapshot.File, c.File) {
		b.fail("snapshot.file", "%q is the configuration file: the state would be saved over it", c.Snapshot.File)
	}
	b.redis()
	t := c.Timeouts
	for _, x := range []struct {
		path string
		v    time.Duration
	}{
		{"timeouts.read_header", t.ReadHeader}, {"timeouts.read", t.Read},
		{"timeouts.write", t.Write}, {"timeouts.idle", t.Idle},
		{"timeouts.shutdown", t.Shutdown}, {"timeouts.upstream_dial", t.UpstreamDial},
		{"timeouts.upstream_header", t.UpstreamHeader},
	} {
		b.positive(x.path, int64(x.v))
	}
	if err := e.LogLevel.UnmarshalText([]byte(c.Log.Level)); err != nil {
		b.fail("log.level", "want debug, info, warn or error, got %q", c.Log.Level)
	}
	if c.Log.Format != "text" && c.Log.Format != "json" {
		b.fail("log.format", "want text or json, got %q", c.Log.Format)
	}
}

// sameFile reports whether paths a and b name one file: the same file if
// both exist (through symlinks and other spellings), else the same absolute
// path.
func sameFile(a, b string) bool {
	fa, errA := os.Stat(a)
	fb, errB := os.Stat(b)
	if errA == nil && errB == nil {
		return os.SameFile(fa, fb)
	}
	absA, errA := filepath.Abs(a)
	absB, errB := filepath.Abs(b)
	return errA == nil && errB == nil && absA == absB
}

// parseClock reads a time of day "HH:MM" as an offset from midnight.
func parseClock(s string) (time.Duration, error) {
	h, m, ok := strings.Cut(strings.TrimSpace(s), ":")
	hh, err1 := strconv.Atoi(h)
	mm, err2 := strconv.Atoi(m)
	if !ok || err1 != nil || err2 != nil || hh < 0 || hh > 23 || mm < 0 || mm > 59 {
		return 0, fmt.Errorf("want a time of day such as 00:00 or 17:30, got %q", s)
	}
	return time.Duration(hh)*time.Hour + time.Duration(mm)*time.Minute, nil
}
