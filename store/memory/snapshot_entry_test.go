package memory

import (
	"errors"
	"fmt"
	"io"
	"testing"
	"time"
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
