package memory

import (
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/creditgate/creditgate/store"
)

// padded serves head, then n bytes of pad, then tail, and counts what it
// serves; like generated, it stores nothing.
type padded struct {
	head, tail string
	pad        byte
	n          int64
	served     int64
}

func (p *padded) Read(b []byte) (int, error) {
	var n int
	switch {
	case p.head != "":
		n = copy(b, p.head)
		p.head = p.head[n:]
	case p.n > 0:
		n = int(min(int64(len(b)), p.n))
		for i := range n {
			b[i] = p.pad
		}
		p.n -= int64(n)
	case p.tail != "":
		n = copy(b, p.tail)
		p.tail = p.tail[n:]
	default:
		return 0, io.EOF
	}
	p.served += int64(n)
	return n, nil
}

// RestoreAt read a snapshot one tenant at a time, but each tenant's entry
// whole: one giant entry (a run of returns or of extra windows that never
// ends, a huge key), or a giant header field or run of space between
// entries, was held whole in memory up to the overall read bound, 20 bytes
// per byte of WithMaxBytes (5 GiB at the default 256 MiB), and restored if
// it ended before. Nothing a tenant of a store may hold needs that: here,
// at the default options, RestoreAt refuses each with ErrSnapshotTenants
// after reading under 8 MiB of the 32 MiB served, and changes nothing.
func TestRestoreOneHugeEntryBoundedRead(t *testing.T) {
	const served, most = 32 << 20, 8 << 20
	at := foldT0.Add(10 * time.Minute)
	head := fmt.Sprintf(`{"format":"creditgate-limiter-snapshot","version":2,"taken":%d,"tenants":[`, at.UnixNano())
	future := at.Add(30 * time.Minute).UnixNano()
	entry := fmt.Sprintf(`{"tenant":"e","window":3600000000000,"returns":[{"at":%d,"credits":1}]}`, future)
	for _, c := range []struct {
		name string
		r    func() (io.Reader, *int64)
	}{
		{"returns", func() (io.Reader, *int64) {
			g := &generated{head: head + `{"tenant":"g","window":3600000000000,"returns":[`, tail: "]}]}", n: served,
				body: func(i int) string { return fmt.Sprintf(`{"at":%d,"credits":1}`, future+int64(i)) }}
			return g, &g.served
		}},
		{"extra windows", func() (io.Reader, *int64) {
			g := &generated{head: head + fmt.Sprintf(`{"tenant":"g","window":3600000000000,"returns":[{"at":%d,"credits":1}],"extra":[`, future),
				tail: "]}]}", n: served, body: func(int) string { return `{"window":3600000000000,"returns":[]}` }}
			return g, &g.served
		}},
		{"key", func() (io.Reader, *int64) {
			p := &padded{head: head + `{"tenant":"`, pad: 'k', n: served,
				tail: fmt.Sprintf(`","window":3600000000000,"returns":[{"at":%d,"credits":1}]}]}`, future)}
			return p, &p.served
		}},
		{"space between entries", func() (io.Reader, *int64) {
			p := &padded{head: head + entry, pad: ' ', n: served, tail: "]}"}
			return p, &p.served
		}},
		{"header field", func() (io.Reader, *int64) {
			p := &padded{head: `{"format":"`, pad: 'f', n: served, tail: `","tenants":[]}`}
			return p, &p.served
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := New()
			if d := spend(t, r, foldT0, "held", 30); !d.Allowed {
				t.Fatal(d)
			}
			if d := spend(t, r, foldT0, "folded", 20); !d.Allowed {
				t.Fatal(d)
			}
			if d := spend(t, r, at, "held", 1); !d.Allowed {
				t.Fatal(d)
			}
			r.Sweep(at) // "folded" folds: both kinds must survive the refusal
			active, folded, bytes := r.Len(), r.Folded(), r.Bytes()
			in, n := c.r()
			err := r.RestoreAt(at, in, foldPlans)
			if !errors.Is(err, ErrSnapshotTenants) {
				msg := fmt.Sprint(err)
				if len(msg) > 200 {
					msg = msg[:200] + "..."
				}
				t.Errorf("a snapshot with a %d MiB entry: %s, want ErrSnapshotTenants", served>>20, msg)
			}
			if *n > most {
				t.Errorf("read %d bytes of it, more than %d", *n, most)
			}
			if r.Len() != active || r.Folded() != folded || r.Bytes() != bytes {
				t.Errorf("after a refused restore: %d active, %d folded, %d bytes; before: %d, %d, %d",
					r.Len(), r.Folded(), r.Bytes(), active, folded, bytes)
			}
			for _, k := range []struct {
				tenant string
				left   int64
			}{{"held", 69}, {"folded", 80}, {"g", 100}, {"e", 100}} {
				if d := r.Peek(at, k.tenant, 0, foldPlans); d.Remaining != k.left {
					t.Errorf("%s: %d credits left after a refused restore, want %d", k.tenant, d.Remaining, k.left)
				}
			}
		})
	}
}

// The largest entry a tenant of a store may have still restores into a
// store of the same options: a key of MaxKeyBytes that JSON escapes in 6
// bytes each, and MaxWindows windows each with a return in every slot.
// One byte more of key, or one window more, is refused by Take (as a full
// store) and by RestoreAt (ErrSnapshotTenants).
func TestRestoreLargestEntry(t *testing.T) {
	key := strings.Repeat("\x01", MaxKeyBytes)
	plan := store.Plan{Name: "w", Credits: 1000, Window: time.Hour, Concurrency: 1}
	for i := range MaxWindows - 1 {
		plan.Extra = append(plan.Extra, store.WindowLimit{Credits: 1000 * int64(i+2), Window: time.Duration(i+2) * time.Hour})
	}
	plans := func(string) *store.Plan { return &plan }
	take := func(s *Store, at time.Time, key string, plans store.PlanFunc) store.Decision {
		var l Lease
		var d store.Decision
		s.Take(at, &store.Request{Tenant: key, App: "x", Credits: 1}, plans, &l, &d)
		if d.Allowed {
			s.Release(&l)
		}
		return d
	}
	src := New()
	now := foldT0
	for i := range 16 * 96 { // every slot of every window: the longest's are 10 minutes wide
		if d := take(src, now, key, plans); !d.Allowed {
			t.Fatalf("take %d: %+v", i, d)
		}
		now = now.Add(37500 * time.Millisecond) // the pool's slot
	}
	var buf strings.Builder
	if err := src.SnapshotAt(now, &buf); err != nil {
		t.Fatal(err)
	}
	if buf.Len() < 6*MaxKeyBytes+15*90*40 {
		t.Fatalf("a snapshot of %d bytes: not the largest entry", buf.Len())
	}
	dst := New()
	if err := dst.RestoreAt(now, strings.NewReader(buf.String()), plans); err != nil {
		t.Fatalf("a snapshot of %d bytes (%d bound): %v", buf.Len(), dst.maxEntry(), err)
	}
	if a, b := src.Peek(now, key, 0, plans), dst.Peek(now, key, 0, plans); a.Used != b.Used || a.Remaining != b.Remaining {
		t.Fatalf("after the restore: used %d, remaining %d; before: %d, %d", b.Used, b.Remaining, a.Used, a.Remaining)
	}

	// One more byte of key, or one more window.
	more := plan
	more.Extra = append(slices.Clone(plan.Extra), store.WindowLimit{Credits: 1e6, Window: 100 * time.Hour})
	if d := take(New(), now, key+"x", plans); d.Reason != store.ReasonTenants {
		t.Errorf("a key of %d bytes: %+v", MaxKeyBytes+1, d)
	}
	if d := take(New(), now, "k", func(string) *store.Plan { return &more }); d.Reason != store.ReasonTenants {
		t.Errorf("a plan of %d windows: %+v", MaxWindows+1, d)
	}
	if err := src.SetPlan(now, key, &more); err == nil {
		t.Errorf("SetPlan to a plan of %d windows: nil error", MaxWindows+1)
	}
	ret := fmt.Sprintf(`"window":3600000000000,"returns":[{"at":%d,"credits":1}]`, now.Add(time.Minute).UnixNano())
	for name, entry := range map[string]string{
		"key":    fmt.Sprintf(`{"tenant":%q,%s}`, strings.Repeat("k", MaxKeyBytes+1), ret),
		"window": fmt.Sprintf(`{"tenant":"k",%s,"extra":[%s]}`, ret, strings.Repeat(`{"window":7200000000000,"returns":[]},`, MaxWindows-1)+`{"window":7200000000000,"returns":[]}`),
	} {
		snap := fmt.Sprintf(`{"format":%q,"version":2,"taken":%d,"tenants":[%s]}`, snapshotFormat, now.UnixNano(), entry)
		r := New()
		if err := r.RestoreAt(now, strings.NewReader(snap), foldPlans); !errors.Is(err, ErrSnapshotTenants) || r.Len() != 0 || r.Folded() != 0 {
			t.Errorf("one %s too many: %v, %d restored", name, err, r.Len()+r.Folded())
		}
	}
}
