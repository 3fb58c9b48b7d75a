package memory

import (
	"encoding/binary"
	"iter"
	"time"

	"github.com/creditgate/creditgate/store"
)

// An idle tenant (nothing in flight, unused for the idle time) whose windows
// still hold spent credits cannot simply be evicted: a fresh tenant would
// start with a full pool. It is folded instead: its windows' schedules of
// returning credits (window.Rolling.Returns, window.Fixed.Returns) are
// encoded in a few bytes per spent slot and kept by key in its shard, and
// the tenant is rebuilt from them when it comes back, its credits returning
// exactly when they would have (a rolling window's to its slot). A record
// whose credits have all come back is dropped. So a full store makes room
// by folding, and holds more than 10 times more idle tenants in the same
// memory.
//
// The record: for each window, its length and whether it rolls, then its
// entries (when credits come back, Unix ns, and how many), as varints; the
// instants are deltas from the previous entry's.

// foldBytes is what a record costs beside its key and payload: the map
// entry (key and slice headers, control byte, load factor).
const foldBytes = 48

// encodeFold encodes t's windows' schedules at now; nil if nothing is out.
func encodeFold(now time.Time, w *windows) (string, bool) {
	var buf []byte
	spent := false
	list := w.list()
	buf = binary.AppendUvarint(buf, uint64(len(list)))
	for _, x := range list {
		returns, length, rolls := schedule(x, now)
		buf = binary.AppendUvarint(buf, uint64(length))
		buf = append(buf, boolByte(rolls))
		var entries [][2]int64
		for at, n := range returns {
			entries = append(entries, [2]int64{at.UnixNano(), n})
		}
		buf = binary.AppendUvarint(buf, uint64(len(entries)))
		prev := int64(0)
		for _, e := range entries {
			buf = binary.AppendVarint(buf, e[0]-prev)
			buf = binary.AppendUvarint(buf, uint64(e[1]))
			prev = e[0]
			spent = true
		}
	}
	if !spent {
		return "", false
	}
	return string(buf), true
}

func boolByte(b bool) byte {
	if b {
		return 1
	}
	return 0
}

// foldedWindow is one window of a record: its length, whether it rolls, and
// its schedule.
type foldedWindow struct {
	length  time.Duration
	rolls   bool
	returns [][2]int64 // Unix ns, credits
}

// decodeFold decodes a record; records are written by encodeFold only, so
// a short read (which cannot happen) ends the decoding.
func decodeFold(rec string) []foldedWindow {
	buf := []byte(rec) // a record is tens of bytes: the copy stays on the stack
	next := func() uint64 {
		v, n := binary.Uvarint(buf)
		buf = buf[max(n, 0):]
		return v
	}
	nw := next()
	out := make([]foldedWindow, 0, nw)
	for range nw {
		fw := foldedWindow{length: time.Duration(next())}
		if len(buf) > 0 {
			fw.rolls, buf = buf[0] == 1, buf[1:]
		}
		ne := next()
		prev := int64(0)
		for range ne {
			d, n := binary.Varint(buf)
			buf = buf[max(n, 0):]
			prev += d
			fw.returns = append(fw.returns, [2]int64{prev, int64(next())})
		}
		out = append(out, fw)
	}
	return out
}

// foldUntil is when a record's last credits come back. Sweeps call it on
// every record, so it reads the varints in place and allocates nothing.
func foldUntil(rec string) int64 {
	var until int64
	i := 0
	next := func() uint64 { // a uvarint from rec at i
		var v uint64
		for shift := 0; i < len(rec) && shift < 64; shift += 7 {
			c := rec[i]
			i++
			v |= uint64(c&0x7f) << shift
			if c < 0x80 {
				break
			}
		}
		return v
	}
	for nw := next(); nw > 0; nw-- {
		next() // length
		i++    // rolls
		prev := int64(0)
		for ne := next(); ne > 0; ne-- {
			u := next() // a zig-zag varint: the delta
			prev += int64(u>>1) ^ -int64(u&1)
			next() // credits
			until = max(until, prev)
		}
	}
	return until
}

// seq yields fw's schedule as window Returns do.
func (fw foldedWindow) seq(loc *time.Location) iter.Seq2[time.Time, int64] {
	return func(yield func(time.Time, int64) bool) {
		for _, e := range fw.returns {
			if !yield(time.Unix(0, e[0]).In(loc), e[1]) {
				return
			}
		}
	}
}

// unfold charges the new tenant's windows nw with a record's schedules, as a
// plan change carries spending over (see carry): each window takes the
// schedule of the shortest folded window at least as long, else the longest.
func unfold(now time.Time, nw *windows, rec string) {
	carryFrom(now, foldSources(rec, now.Location()), nw)
}

// foldSources is a record's windows as sources, their instants in loc.
func foldSources(rec string, loc *time.Location) []source {
	var srcs []source
	for _, fw := range decodeFold(rec) {
		srcs = append(srcs, source{returns: fw.seq(loc), length: fw.length, rolls: fw.rolls})
	}
	return srcs
}

// foldedWindows builds the windows of plan p that a folded tenant with
// record rec would come back with at now (see unfold), for Peek: reading the
// record's windows by position instead reported a full pool to a tenant
// whose plan changed while it was folded, and one window's spends where
// unfold carries another's. nil if p cannot build a window.
func (s *Store) foldedWindows(now time.Time, rec string, p *store.Plan) *windows {
	w := new(windows)
	if s.initWindows(w, p, nil) != nil {
		return nil
	}
	unfold(now, w, rec)
	return w
}
