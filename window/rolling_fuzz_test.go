package window

import (
	"testing"
	"time"
)

// decodeOps turns fuzz bytes into a window configuration and an operation
// sequence: byte 0 picks the limit and slot count, then every 4 bytes are one
// op (a step whose size class and sign come from the first byte, the action,
// the count, and how long ago refunded credits were spent).
func decodeOps(data []byte) (limit int64, slots int, ops []op) {
	if len(data) == 0 {
		return 1, 1, nil
	}
	limits := []int64{1, 2, 10, 100, MaxLimit}
	limit = limits[int(data[0])%len(limits)]
	slots = 1 + int(data[0]>>3)%12
	const W = 10 * time.Second
	for b := data[1:]; len(b) >= 4; b = b[4:] {
		var o op
		mag := time.Duration(b[0] & 0x3f)
		switch b[0] >> 6 {
		case 0:
			o.step = mag * W / 64
		case 1:
			o.step = mag * W / 4
		case 2:
			o.step = -mag * W / 64
		case 3:
			o.step = mag * 6 * time.Hour
		}
		o.action = b[1] % 6
		o.n = 1 + int64(b[2])*limit/255
		if b[2] == 255 {
			o.n = limit + 1
		}
		o.back = time.Duration(b[3]) * W / 100
		ops = append(ops, o)
	}
	return limit, slots, ops
}

// FuzzRolling runs a decoded operation sequence against the reference log:
// exact decisions, never fewer credits counted than the exact log, at most one
// slot's width withheld, and no interval of W above the limit.
func FuzzRolling(f *testing.F) {
	f.Add([]byte{0})
	f.Add([]byte{2, 0, 0, 128, 0, 5, 1, 200, 10, 0, 2, 100, 0})
	f.Add([]byte{18, 10, 0, 255, 0, 200, 0, 128, 0, 130, 3, 10, 50, 63, 4, 255, 0})
	f.Add([]byte{3, 60, 1, 250, 0, 60, 1, 250, 0, 190, 0, 250, 0, 255, 5, 1, 0, 1, 3, 250, 90})
	f.Add([]byte{90, 1, 0, 10, 0, 129, 0, 10, 0, 2, 3, 10, 1, 200, 4, 10, 0, 2, 0, 20, 0, 0, 5, 0, 0})
	f.Fuzz(func(t *testing.T, data []byte) {
		limit, slots, ops := decodeOps(data)
		r, err := NewRolling(limit, 10*time.Second, WithSlots(slots))
		if err != nil {
			t.Fatal(err)
		}
		runOps(t, r, ops)
	})
}
