package memory

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/creditgate/creditgate/store"
)

// generated serves head, then body(i) for i = 0, 1, ... until n bytes of
// them are served, then tail; it counts what it serves. Nothing is stored:
// a snapshot of any length costs its reader nothing.
type generated struct {
	head, tail string
	body       func(i int) string
	n          int64 // bytes of bodies to serve
	i          int
	pending    string
	served     int64 // bytes served in all
	tailed     bool
}

func (g *generated) Read(p []byte) (int, error) {
	for g.pending == "" {
		switch {
		case g.head != "":
			g.pending, g.head = g.head, ""
		case g.n > 0:
			b := g.body(g.i)
			if g.i > 0 {
				b = "," + b
			}
			g.pending, g.i, g.n = b, g.i+1, g.n-int64(len(b))
		case !g.tailed:
			g.pending, g.tailed = g.tail, true
		default:
			return 0, io.EOF
		}
	}
	n := copy(p, g.pending)
	g.pending = g.pending[n:]
	g.served += int64(n)
	return n, nil
}

// A snapshot far larger than the store could hold was decoded whole before
// the byte bound refused it: a file of gigabytes (corrupt, hostile, or from
// a much bigger store) made the restoring process allocate all of it first.
// RestoreAt reads at most 20 times the store's WithMaxBytes plus 64 KiB of a
// snapshot, and refuses it with ErrSnapshotTenants, changing nothing, as
// soon as it has more tenants than fit: whether they are many, all spent
// long ago (costing nothing once restored), or one tenant with a list of
// returns that never ends.
func TestRestoreHugeSnapshotBoundedRead(t *testing.T) {
	const maxBytes = 64 << 10
	const bound = snapshotBytesPerByte*maxBytes + 64<<10
	at := foldT0.Add(10 * time.Minute)
	head := fmt.Sprintf(`{"format":"creditgate-limiter-snapshot","version":2,"taken":%d,"tenants":[`, at.UnixNano())
	future, past := at.Add(30*time.Minute).UnixNano(), at.Add(-2*time.Hour).UnixNano()
	for _, c := range []struct {
		name string
		head string
		body func(i int) string
		tail string
	}{
		{"many tenants", head, func(i int) string {
			return fmt.Sprintf(`{"tenant":"g%09d","returns":[{"at":%d,"credits":1}],"window":3600000000000}`, i, future)
		}, "]}"},
		{"many tenants spent long ago", head, func(i int) string {
			return fmt.Sprintf(`{"tenant":"g%09d","returns":[{"at":%d,"credits":1}],"window":3600000000000}`, i, past)
		}, "]}"},
		{"one tenant, endless returns", head + `{"tenant":"g","window":3600000000000,"returns":[`, func(i int) string {
			return fmt.Sprintf(`{"at":%d,"credits":1}`, future+int64(i))
		}, "]}]}"},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := New(WithMaxBytes(maxBytes), WithSlots(12))
			if d := spend(t, r, foldT0, "held", 30); !d.Allowed {
				t.Fatal(d)
			}
			if d := spend(t, r, foldT0, "g000000001", 20); !d.Allowed { // also in the snapshot
				t.Fatal(d)
			}
			r.Sweep(at) // one of them folded: both kinds must survive the refusal
			if d := spend(t, r, at, "held", 1); !d.Allowed {
				t.Fatal(d)
			}
			active, folded, bytes := r.Len(), r.Folded(), r.Bytes()
			g := &generated{head: c.head, body: c.body, tail: c.tail, n: 16 << 20} // 12 times the bound
			err := r.RestoreAt(at, g, foldPlans)
			if !errors.Is(err, ErrSnapshotTenants) {
				t.Fatalf("a 16 MiB snapshot into a 64 KiB store: %v", err)
			}
			if g.served > bound+4096 {
				t.Fatalf("read %d bytes of the snapshot before refusing it, more than the %d bound", g.served, bound)
			}
			if r.Len() != active || r.Folded() != folded || r.Bytes() != bytes {
				t.Fatalf("after a refused restore: %d active, %d folded, %d bytes; before: %d, %d, %d",
					r.Len(), r.Folded(), r.Bytes(), active, folded, bytes)
			}
			for _, k := range []struct {
				tenant string
				left   int64
			}{{"held", 69}, {"g000000001", 80}, {"g000000002", 100}, {"g", 100}} {
				if d := r.Peek(at, k.tenant, 0, foldPlans); d.Remaining != k.left {
					t.Errorf("%s: %d credits left after a refused restore, want %d", k.tenant, d.Remaining, k.left)
				}
			}
		})
	}
}

// The bound leaves room for what the store itself writes: a snapshot of a
// store nearly full to its WithMaxBytes, of tenants that each spent in every slot
// (the longest snapshot per byte held), restores into a store of the same
// bounds.
func TestRestoreFullStoreSnapshot(t *testing.T) {
	const maxBytes = 64 << 10
	src := New(WithMaxBytes(maxBytes), WithSlots(12))
	at := foldT0
	for k := range 12 {
		for i := range 400 { // about 2/3 of the bytes, folded
			spend(t, src, at.Add(time.Duration(k)*5*time.Minute), fmt.Sprint("t", i), 1)
		}
	}
	src.Sweep(at.Add(59 * time.Minute)) // all folded: a folded tenant is the cheapest
	now := at.Add(59 * time.Minute)
	var buf strings.Builder
	if err := src.SnapshotAt(now, &buf); err != nil {
		t.Fatal(err)
	}
	r := New(WithMaxBytes(maxBytes), WithSlots(12))
	if err := r.RestoreAt(now, strings.NewReader(buf.String()), foldPlans); err != nil {
		t.Fatalf("a snapshot of %d bytes from a store of %d bytes (%d folded): %v", buf.Len(), src.Bytes(), src.Folded(), err)
	}
	if r.Len()+r.Folded() != src.Len()+src.Folded() {
		t.Fatalf("restored %d active and %d folded of %d and %d", r.Len(), r.Folded(), src.Len(), src.Folded())
	}
}

// Read one tenant at a time, a snapshot must say its format, version and
// time before its tenants, as SnapshotAt writes them: after them, or with
// the tenants twice, it is refused as corrupt (a version not yet read
// when the tenants begin is version 0's), and nothing is restored.
func TestRestoreHeaderFirst(t *testing.T) {
	a := `[{"tenant":"a","returns":[{"at":1772370300000000000,"credits":5}]}]`
	for _, snap := range []string{
		`{"tenants":` + a + `,"format":"creditgate-limiter-snapshot","version":1,"taken":1}`,
		`{"format":"creditgate-limiter-snapshot","tenants":` + a + `,"version":1,"taken":1}`,
		`{"format":"creditgate-limiter-snapshot","version":1,"tenants":` + a + `,"taken":1}`,
		`{"format":"creditgate-limiter-snapshot","version":1,"tenants":[],"tenants":` + a + `}`,
	} {
		r := New()
		var ve *SnapshotVersionError
		if err := r.RestoreAt(foldT0, strings.NewReader(snap), foldPlans); !errors.Is(err, store.ErrSnapshotCorrupt) && !errors.As(err, &ve) {
			t.Errorf("%s: %v", snap, err)
		}
		if r.Len() != 0 || r.Folded() != 0 {
			t.Errorf("%s: restored %d", snap, r.Len()+r.Folded())
		}
	}
	ok := `{"format":"creditgate-limiter-snapshot","version":1,"taken":1,"tenants":` + a + `}`
	if err := New().RestoreAt(foldT0, strings.NewReader(ok), foldPlans); err != nil {
		t.Errorf("%s: %v", ok, err)
	}
}

// A snapshot taken ahead of the restoring clock is restored as of its
// taken time (conservative), and its tenants were made active with that
// time as their last use, also those whose credits were all back by then:
// tenants with nothing out, which a sweep could not fold or evict until
// the snapshot's time came. Restored into a store that they filled, they
// locked every new tenant out for the three years here (for ever with a
// taken of 2262). A tenant with nothing out is not restored: a new one is
// the same. (A snapshot taken more than its longest window ahead, as the
// three years here, is now refused as corrupt: TestRestoreTakenFarAhead.)
func TestRestoreTakenAheadNothingOut(t *testing.T) {
	now := foldT0
	t0, err := New(WithSlots(12)).newTenant("t0", 0, &foldPlan)
	if err != nil {
		t.Fatal(err)
	}
	cost := int64(t0.cost) // a restored tenant's
	for _, ahead := range []time.Duration{0, time.Hour, 3 * 365 * 24 * time.Hour} {
		var b strings.Builder
		fmt.Fprintf(&b, `{"format":%q,"version":2,"taken":%d,"tenants":[`, snapshotFormat, now.Add(ahead).UnixNano())
		for i := range 200 {
			if i > 0 {
				b.WriteByte(',')
			}
			fmt.Fprintf(&b, `{"tenant":"t%d","returns":[{"at":%d,"credits":1}],"window":%d}`, i, now.Add(-time.Hour).UnixNano(), int64(time.Hour))
		}
		b.WriteString("]}")
		s := New(WithMaxBytes(33*cost), WithSlots(12))
		err := s.RestoreAt(now, strings.NewReader(b.String()), foldPlans)
		if far := ahead > time.Hour; far != errors.Is(err, store.ErrSnapshotCorrupt) || !far && err != nil {
			t.Fatalf("taken %v ahead: %v", ahead, err)
		}
		if s.Len() != 0 || s.Folded() != 0 || s.Bytes() != 0 {
			t.Errorf("taken %v ahead: %d active, %d folded, %d bytes restored for tenants with nothing out", ahead, s.Len(), s.Folded(), s.Bytes())
		}
		for _, d := range []time.Duration{0, 24 * time.Hour} {
			if dec := spend(t, s, now.Add(d), fmt.Sprint("new", d), 1); !dec.Allowed {
				t.Errorf("taken %v ahead: a new tenant %v after the restore: %+v", ahead, d, dec)
			}
		}
	}
}

// A store may end up past its WithMaxBytes by about one tenant (a new
// tenant is let in while the bytes are below the bound, its own cost
// counted after), and its snapshot must still restore into a store of the
// same bounds: refused whole, every tenant would start with a full pool.
// Here, stores of folded tenants filled until a new one tips them over the
// bound, snapshotted and restored.
func TestRestoreOvershotStoreSnapshot(t *testing.T) {
	const maxBytes = 16 << 10
	over := 0
	for n := 1; n <= 400 && over < 5; n++ {
		src := New(WithMaxBytes(maxBytes), WithSlots(12))
		at := foldT0
		for i := range n {
			// each tenant idle by the next one's arrival: a full store folds it
			spend(t, src, at.Add(time.Duration(i)*time.Second), fmt.Sprint("t", i), 1)
		}
		if src.Bytes() <= maxBytes {
			continue
		}
		over++
		now := at.Add(time.Duration(n) * time.Second)
		var buf strings.Builder
		if err := src.SnapshotAt(now, &buf); err != nil {
			t.Fatal(err)
		}
		dst := New(WithMaxBytes(maxBytes), WithSlots(12))
		if err := dst.RestoreAt(now, strings.NewReader(buf.String()), foldPlans); err != nil {
			t.Fatalf("%d tenants, %d bytes of %d: its snapshot does not restore into a store of the same bounds: %v",
				n, src.Bytes(), maxBytes, err)
		}
		for i := range n {
			if d := dst.Peek(now, fmt.Sprint("t", i), 0, foldPlans); d.Remaining != 99 {
				t.Fatalf("%d tenants: t%d has %d credits left after the restore, want 99", n, i, d.Remaining)
			}
		}
	}
	if over == 0 {
		t.Fatal("no store went past its bound: the test checks nothing")
	}
}

// The same, up to the last tenant a store lets in: a store lets a new
// tenant in while its bytes are below WithMaxBytes, so it may hold, folded,
// records that together exceed the bound by one record (and below 48
// bytes, one tenant while the tenant bound is 0). RestoreAt refused those
// snapshots (ErrSnapshotTenants: more than the bytes free even folded, or
// more than one tenant per 48 bytes), so every tenant would start with a
// full pool. TestRestoreOvershotStoreSnapshot stopped before that tenant.
func TestRestoreLastTenantLetIn(t *testing.T) {
	for _, maxBytes := range []int64{40, 140, 1000, 4114} {
		for n := 1; n <= 80; n++ {
			src := New(WithMaxBytes(maxBytes), WithSlots(12))
			in := 0
			for i := range n {
				if spend(t, src, foldT0.Add(time.Duration(i)*time.Second), fmt.Sprint("t", i), 1).Allowed {
					in++
				}
			}
			if in < n {
				break // the store is full: n-1 was the last let in
			}
			now := foldT0.Add(time.Duration(n) * time.Second)
			var buf strings.Builder
			if err := src.SnapshotAt(now, &buf); err != nil {
				t.Fatal(err)
			}
			dst := New(WithMaxBytes(maxBytes), WithSlots(12))
			if err := dst.RestoreAt(now, strings.NewReader(buf.String()), foldPlans); err != nil {
				t.Errorf("WithMaxBytes(%d), %d tenants (%d active, %d folded, %d bytes): %v",
					maxBytes, n, src.Len(), src.Folded(), src.Bytes(), err)
				break
			}
			for i := range n {
				if d := dst.Peek(now, fmt.Sprint("t", i), 0, foldPlans); d.Remaining != 99 {
					t.Fatalf("WithMaxBytes(%d), %d tenants: t%d has %d credits left after the restore, want 99", maxBytes, n, i, d.Remaining)
				}
			}
		}
	}
}
