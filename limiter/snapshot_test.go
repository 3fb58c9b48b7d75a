package limiter

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestSnapshotRoundTrip(t *testing.T) {
	p := testPlan()
	p.BaseCredits = 1000
	a := mustNew(t, p, WithSlots(96))
	spend := func(at time.Time, tenant string, n int64) {
		tk, d := a.Acquire(at, Request{Tenant: tenant, App: "x", Credits: n})
		if !d.Allowed {
			t.Fatalf("%s %d: %+v", tenant, n, d)
		}
		tk.Release()
	}
	spend(t0, "a", 100)
	spend(t0.Add(3*time.Hour), "a", 50)
	spend(t0.Add(20*time.Hour), "a", 7)
	spend(t0.Add(time.Hour), "b", 999)
	spend(t0, "idle", 1)
	now := t0.Add(22 * time.Hour)
	var buf bytes.Buffer
	if err := a.SnapshotAt(now, &buf); err != nil {
		t.Fatal(err)
	}
	b := mustNew(t, p, WithSlots(96))
	restoreAt := now.Add(10 * time.Minute) // a restart takes a while
	if err := b.RestoreAt(restoreAt, bytes.NewReader(buf.Bytes())); err != nil {
		t.Fatal(err)
	}
	for _, at := range []time.Duration{10 * time.Minute, 2 * time.Hour, 2*time.Hour + 30*time.Minute,
		25*time.Hour + 30*time.Minute, 27 * time.Hour, 44 * time.Hour, 50 * time.Hour} {
		when := now.Add(at)
		for _, tenant := range []string{"a", "b", "idle", "never"} {
			da, db := a.Peek(when, tenant), b.Peek(when, tenant)
			if da.Remaining != db.Remaining || da.Limit != db.Limit || !da.Reset.Equal(db.Reset) {
				t.Errorf("+%v %s: original %+v restored %+v", at, tenant, da, db)
			}
		}
	}
	// A second restore leaves present tenants alone.
	c := mustNew(t, p, WithSlots(96))
	for range 2 {
		if err := c.RestoreAt(restoreAt, bytes.NewReader(buf.Bytes())); err != nil {
			t.Fatal(err)
		}
	}
	if d := c.Peek(restoreAt, "a"); d.Remaining != 1000-157 {
		t.Fatalf("restore twice: %+v", d)
	}
}

func TestRestoreErrors(t *testing.T) {
	p := testPlan()
	good := `{"format":"creditgate-limiter-snapshot","version":1,"taken":1,"tenants":[{"tenant":"a","returns":[{"at":9000000000000000000,"credits":5}]}]}`
	for _, tc := range []struct {
		in   string
		want error
	}{
		{"", ErrSnapshotCorrupt},
		{"garbage", ErrSnapshotCorrupt},
		{good[:len(good)/2], ErrSnapshotCorrupt},
		{strings.Replace(good, "creditgate-limiter-snapshot", "other", 1), ErrSnapshotCorrupt},
		{strings.Replace(good, `"credits":5`, `"credits":-5`, 1), ErrSnapshotCorrupt},
		{strings.Replace(good, `"tenant":"a"`, `"tenant":""`, 1), ErrSnapshotCorrupt},
		{strings.Replace(good, `"taken":1`, `"taken":1,"extra":2`, 1), ErrSnapshotCorrupt},
	} {
		l := mustNew(t, p)
		if err := l.RestoreAt(t0, strings.NewReader(tc.in)); !errors.Is(err, tc.want) {
			t.Errorf("%.40q: %v", tc.in, err)
		}
		if d := l.Peek(t0, "a"); d.Remaining != 100 {
			t.Errorf("%.40q: failed restore changed state: %+v", tc.in, d)
		}
		if _, d := l.Acquire(t0, Request{Tenant: "a", App: "x", Credits: 1}); !d.Allowed {
			t.Errorf("limiter unusable after failed restore")
		}
	}
	l := mustNew(t, p)
	var ve *SnapshotVersionError
	if err := l.RestoreAt(t0, strings.NewReader(strings.Replace(good, `"version":1`, `"version":0`, 1))); !errors.As(err, &ve) || ve.Version != 0 {
		t.Fatalf("old version: %v", err)
	}
	if err := l.RestoreAt(t0, strings.NewReader(good)); err != nil {
		t.Fatal(err)
	}
	if d := l.Peek(t0, "a"); d.Remaining != 95 {
		t.Fatalf("restored: %+v", d)
	}
}

func FuzzRestore(f *testing.F) {
	f.Add([]byte(`{"format":"creditgate-limiter-snapshot","version":1,"taken":1,"tenants":[{"tenant":"a","returns":[{"at":1772370000000000000,"credits":5},{"at":1772371000000000000,"credits":500}]}]}`))
	f.Add([]byte(`{"format":"creditgate-limiter-snapshot","version":1,"tenants":null}`))
	f.Add([]byte(`{"version":2}`))
	f.Add([]byte(`[`))
	f.Fuzz(func(t *testing.T, data []byte) {
		l, err := New(testPlan())
		if err != nil {
			t.Fatal(err)
		}
		_ = l.RestoreAt(t0, bytes.NewReader(data))
		d := l.Peek(t0, "a")
		if d.Remaining < 0 || d.Remaining > d.Limit {
			t.Fatalf("bad state after restore: %+v", d)
		}
		tk, d := l.Acquire(t0, Request{Tenant: "fresh", App: "x", Credits: 1})
		if !d.Allowed {
			t.Fatalf("unusable: %+v", d)
		}
		tk.Release()
	})
}
