package memory

import (
	"errors"
	"io"

	"github.com/creditgate/creditgate/window"
)

// A tenant entry's longest JSON, as SnapshotAt writes it, in bytes: a
// return is {"at":<19 digits and a sign>,"credits":<13 digits>} and a
// comma (52); a window adds its length, kind and brackets (about 60).
const (
	returnJSON = 64
	windowJSON = 128
	entrySlack = 64 << 10 // the entry's own fields, and room for space
)

// maxEntry is the most RestoreAt reads of one tenant's entry (or of one
// header field, or of the space before either): what the longest entry a
// tenant of this store may have takes, a key of MaxKeyBytes each escaped
// in 6 bytes (\u0000) and MaxWindows windows each with a return in every
// word of its ring (a rolling window's slots and 2), and entrySlack. Under
// 7 MiB at the default 96 slots, 71 MiB at 65,536 (a tenant of 16 such
// windows counts 8 MiB); never more than the whole snapshot's bound.
func (s *Store) maxEntry() int64 {
	slots := int64(window.DefaultSlots)
	if s.slots > 0 {
		slots = int64(s.slots)
	}
	n := entrySlack + 6*MaxKeyBytes + MaxWindows*(windowJSON+(slots+2)*returnJSON)
	return min(n, s.maxSnapshot())
}

// errStepTooLong is what a stepReader returns past its stop.
var errStepTooLong = errors.New("memory: snapshot step too long")

// stepReader hands a json.Decoder at most stop bytes of r in all, so that
// no value it decodes whole (a tenant's entry) holds more than the step
// allows; long records whether the decoder asked for more.
type stepReader struct {
	r    io.Reader
	read int64 // bytes of r handed on
	stop int64
	long bool
}

func (sr *stepReader) Read(b []byte) (int, error) {
	if sr.read >= sr.stop {
		sr.long = true
		return 0, errStepTooLong
	}
	if int64(len(b)) > sr.stop-sr.read {
		b = b[:sr.stop-sr.read]
	}
	n, err := sr.r.Read(b)
	sr.read += int64(n)
	return n, err
}
