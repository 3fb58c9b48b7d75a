package limiter

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/creditgate/creditgate/store"
	"github.com/creditgate/creditgate/store/memory"
)

func TestSnapshotRoundTrip(t *testing.T) {
	p := testPlan()
	p.Credits = 1000
	a := mustNew(t, p, withMem(memory.WithSlots(96)))
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
	spend(t0.Add(2*time.Hour), "", 30) // the default tenant: no identity (issue #13 item 1)
	now := t0.Add(22 * time.Hour)
	var buf bytes.Buffer
	if err := a.SnapshotAt(now, &buf); err != nil {
		t.Fatal(err)
	}
	b := mustNew(t, p, withMem(memory.WithSlots(96)))
	restoreAt := now.Add(10 * time.Minute) // a restart takes a while
	if err := b.RestoreAt(restoreAt, bytes.NewReader(buf.Bytes())); err != nil {
		t.Fatal(err)
	}
	for _, at := range []time.Duration{10 * time.Minute, 2 * time.Hour, 2*time.Hour + 30*time.Minute,
		25*time.Hour + 30*time.Minute, 27 * time.Hour, 44 * time.Hour, 50 * time.Hour} {
		when := now.Add(at)
		for _, tenant := range []string{"a", "b", "idle", "never", ""} {
			da, db := a.Peek(when, tenant), b.Peek(when, tenant)
			if da.Remaining != db.Remaining || da.Limit != db.Limit || !da.Reset.Equal(db.Reset) {
				t.Errorf("+%v %s: original %+v restored %+v", at, tenant, da, db)
			}
		}
	}
	// A second restore leaves present tenants alone.
	c := mustNew(t, p, withMem(memory.WithSlots(96)))
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
		{"", store.ErrSnapshotCorrupt},
		{"garbage", store.ErrSnapshotCorrupt},
		{good[:len(good)/2], store.ErrSnapshotCorrupt},
		{strings.Replace(good, "creditgate-limiter-snapshot", "other", 1), store.ErrSnapshotCorrupt},
		{strings.Replace(good, `"credits":5`, `"credits":-5`, 1), store.ErrSnapshotCorrupt},
		{strings.Replace(good, `]}]}`, `]},{"tenant":"a","returns":[]}]}`, 1), store.ErrSnapshotCorrupt}, // repeated
		{strings.Replace(good, `"taken":1`, `"taken":1,"extra":2`, 1), store.ErrSnapshotCorrupt},
		{strings.Replace(good, `"credits":5`, `"credits":9223372036854775807`, 1), store.ErrSnapshotCorrupt},
		{strings.Replace(good, `"credits":5`, `"credits":1099511627777`, 1), store.ErrSnapshotCorrupt}, // MaxLimit+1
		{good + ` {"tenants": [{"tenant":"x"`, store.ErrSnapshotCorrupt},
		{good + `x`, store.ErrSnapshotCorrupt},
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
	var ve *memory.SnapshotVersionError
	if err := l.RestoreAt(t0, strings.NewReader(strings.Replace(good, `"version":1`, `"version":0`, 1))); !errors.As(err, &ve) || ve.Version != 0 {
		t.Fatalf("old version: %v", err)
	}
	if err := l.RestoreAt(t0, strings.NewReader(good+"\n\t ")); err != nil { // trailing white space is fine
		t.Fatal(err)
	}
	if d := l.Peek(t0, "a"); d.Remaining != 95 {
		t.Fatalf("restored: %+v", d)
	}
}

// TestRestoreTenantBound: a snapshot with more tenants than the store's bound
// leaves room for restores those past it folded, with what they spent (it
// was refused, and a refused restore starts every pool full); tenants already
// held are left alone and do not count against the bound twice.
func TestRestoreTenantBound(t *testing.T) {
	snap := func(tenants ...string) string {
		var b strings.Builder
		b.WriteString(`{"format":"creditgate-limiter-snapshot","version":1,"taken":1,"tenants":[`)
		for i, k := range tenants {
			if i > 0 {
				b.WriteString(",")
			}
			fmt.Fprintf(&b, `{"tenant":%q,"returns":[{"at":9000000000000000000,"credits":5}]}`, k)
		}
		b.WriteString("]}")
		return b.String()
	}
	l := mustNew(t, testPlan(), withMem(memory.WithMaxTenants(2)))
	if _, d := l.Acquire(t0, Request{Tenant: "a", App: "x", Credits: 1}); !d.Allowed {
		t.Fatalf("a: %+v", d)
	}
	if err := l.RestoreAt(t0, strings.NewReader(snap("a", "b", "c", "d"))); err != nil {
		t.Fatalf("4 tenants into a bound of 2: %v", err)
	}
	s := l.Store().(*memory.Store)
	if s.Len() != 2 || s.Folded() != 2 {
		t.Fatalf("%d active, %d folded; want 2 and 2", s.Len(), s.Folded())
	}
	if a, b, c, d := l.Peek(t0, "a").Remaining, l.Peek(t0, "b").Remaining, l.Peek(t0, "c").Remaining, l.Peek(t0, "d").Remaining; a != 99 || b != 95 || c != 95 || d != 95 {
		t.Fatalf("remaining a %d (want 99), b %d, c %d, d %d (want 95)", a, b, c, d)
	}
}

func FuzzRestore(f *testing.F) {
	f.Add([]byte(`{"format":"creditgate-limiter-snapshot","version":1,"taken":1,"tenants":[{"tenant":"a","returns":[{"at":1772370000000000000,"credits":5},{"at":1772371000000000000,"credits":500}]}]}`))
	f.Add([]byte(`{"format":"creditgate-limiter-snapshot","version":1,"tenants":null}`))
	f.Add([]byte(`{"version":2}`))
	f.Add([]byte(`[`))
	// Hostile figures (all read without harm): the largest numbers, spends
	// before 1970 and centuries ahead, a ten-year window, a snapshot taken
	// centuries ahead of the restore.
	f.Add([]byte(`{"format":"creditgate-limiter-snapshot","version":2,"taken":9223372036854775807,"tenants":[{"tenant":"a","returns":[{"at":-9223372036854775808,"credits":1},{"at":-1,"credits":1099511627776},{"at":9223372036854775807,"credits":1099511627776}],"window":315360000000000000,"calendar":true,"extra":[{"window":1,"returns":[{"at":1772370000000000000,"credits":1099511627776}]}]}]}`))
	f.Add([]byte(`{"format":"creditgate-limiter-snapshot","version":2,"taken":-9223372036854775808,"tenants":[{"tenant":"a","returns":[{"at":1772370000000000000,"credits":-5}],"window":3600000000000}]}`))
	// Version 3: a key that is not UTF-8 (and one that is, refused there).
	f.Add([]byte(`{"format":"creditgate-limiter-snapshot","version":3,"taken":1,"tenants":[{"tenant":"","tenant_bytes":"/w==","returns":[{"at":1772370000000000000,"credits":5}],"window":3600000000000},{"tenant":"","tenant_bytes":"YQ==","returns":[{"at":1772370000000000000,"credits":5}]}]}`))
	// The header after the tenants, and the tenants twice (read tenant by tenant, refused).
	f.Add([]byte(`{"tenants":[{"tenant":"a","returns":[{"at":1772370000000000000,"credits":5}]}],"format":"creditgate-limiter-snapshot","version":1}`))
	f.Add([]byte(`{"format":"creditgate-limiter-snapshot","version":1,"tenants":[],"tenants":[{"tenant":"a","returns":[{"at":1772370000000000000,"credits":5}]}]}`))
	// Field names in odd case (also the Kelvin sign and the long s, which
	// encoding/json folds as k and s), nulls in every position, numbers
	// as strings, and a tenant twice, as tenant and as tenant_bytes.
	f.Add([]byte(`{"FORMAT":"creditgate-limiter-snapshot","Version":3,"ta\u212aen":1,"tenant\u017f":[{"TENANT":"a","Returns":[{"AT":1772370000000000000,"Credits":5}],"WINDOW":3600000000000,"Extra":[{"Window":60000000000,"CALENDAR":true,"returns":null}]}]}`))
	f.Add([]byte(`{"format":null,"version":null,"taken":null,"tenants":[null,{"tenant":null,"tenant_bytes":null,"returns":[null,{"at":null,"credits":null}],"window":null,"calendar":null,"extra":[null]}]}`))
	f.Add([]byte(`{"format":"creditgate-limiter-snapshot","version":"2","taken":"1","tenants":[{"tenant":"a","returns":[{"at":"1772370000000000000","credits":"5"}]}]}`))
	f.Add([]byte(`{"format":"creditgate-limiter-snapshot","version":3,"taken":1,"tenants":[{"tenant":"\ufffd","returns":[{"at":1772370000000000000,"credits":5}]},{"tenant_bytes":"/w==","returns":[{"at":1772370000000000000,"credits":5}]},{"tenant_bytes":"/w==","returns":[{"at":1772370000000000000,"credits":5}]}]}`))
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

// TestSnapshotBeyondLoweredLimit: a snapshot saves all that is spent, also
// what a lowered limit hides from Remaining, so a restore under the old
// limit does not hand the difference back.
func TestSnapshotBeyondLoweredLimit(t *testing.T) {
	p := testPlan()
	l := mustNew(t, p)
	if _, d := l.Acquire(t0, Request{Tenant: "o", App: "a", Credits: 100}); !d.Allowed {
		t.Fatal(d)
	}
	low := p
	low.Credits = 10
	if err := l.SetPlanAt(t0, "o", low); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := l.SnapshotAt(t0, &buf); err != nil {
		t.Fatal(err)
	}
	l2 := mustNew(t, p)
	if err := l2.RestoreAt(t0, &buf); err != nil {
		t.Fatal(err)
	}
	if d := l2.Peek(t0, "o"); d.Remaining != 0 {
		t.Fatalf("restored under the old limit: %+v", d)
	}
}

// TestSnapshotBeyondLoweredLimitLater: the same over spends that return at
// different times. A restore under the lowered plan must charge every
// return, not the earliest ones up to the limit: the first 60 coming back
// leaves the later 40 spent, 10 of 50 free (restored first-fit: 50 free).
func TestSnapshotBeyondLoweredLimitLater(t *testing.T) {
	p := testPlan()
	l := mustNew(t, p)
	for _, s := range []struct {
		at time.Duration
		n  int64
	}{{0, 60}, {20 * time.Hour, 40}} {
		tk, d := l.Acquire(t0.Add(s.at), Request{Tenant: "o", App: "a", Credits: s.n})
		if !d.Allowed {
			t.Fatal(d)
		}
		tk.Release()
	}
	low := p
	low.Credits = 50
	now := t0.Add(21 * time.Hour)
	if err := l.SetPlanAt(now, "o", low); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := l.SnapshotAt(now, &buf); err != nil {
		t.Fatal(err)
	}
	l2 := mustNew(t, low)
	if err := l2.RestoreAt(now, &buf); err != nil {
		t.Fatal(err)
	}
	later := t0.Add(25 * time.Hour) // the 60 are back, the 40 are not
	if d, d2 := l.Peek(later, "o"), l2.Peek(later, "o"); d.Remaining != 10 || d2.Remaining != d.Remaining {
		t.Fatalf("remaining at +25h: original %d (want 10), restored %d", d.Remaining, d2.Remaining)
	}
}
