package limiter

import (
	"runtime"
	"sync"
	"unsafe"
)

// procPin and procUnpin are sync.Pool's: the runtime keeps them for
// linkname (Go 1.23's linker refuses pulls of runtime symbols it does not
// push; these it does).
//
//go:linkname procPin runtime.procPin
func procPin() int

//go:linkname procUnpin runtime.procUnpin
func procUnpin()

// statePool keeps free ticket states: one per P in a slot of its own, which
// an admission's Get and its Release's Put hit when both run on one P (the
// usual case), and the rest in a sync.Pool. A slot costs a pin and a load
// or store where sync.Pool's private field costs about four times that in
// instructions. A state is in at most one place: a slot, the spare pool or
// a ticket; Release puts it back only after its generation moved on, so a
// stale copy finds it released whatever admission holds it now.
type statePool struct {
	// slots has one per P of New's GOMAXPROCS or one per CPU, whichever is
	// more: GOMAXPROCS may rise after New (Go 1.25 follows a container's
	// CPU limit as it changes, a program may set it), and a P without a
	// slot uses spare. Ps beyond both use spare.
	slots []stateSlot
	spare sync.Pool
}

// stateSlot is a P's free state, read and written only while pinned to
// that P (under the race detector, atomically, so that it sees a state's
// Put happen before its next Get).
type stateSlot struct {
	h unsafe.Pointer // *ticketHeader
	_ [64 - unsafe.Sizeof(unsafe.Pointer(nil))]byte
}

func (p *statePool) init(newState func() *ticketHeader) {
	p.slots = make([]stateSlot, max(runtime.GOMAXPROCS(0), runtime.NumCPU()))
	p.spare.New = func() any { return newState() }
}

// take empties P i's slot and returns what it held, nil for none, and
// getSpare is a state for a P whose slot was empty: the admission pins
// (procPin), takes, unpins and, on nil, gets a spare itself, where a call
// to a get that did all that cost a frame spilling what the pin's call
// clobbers (with put's counterpart in memBinding.release, 26 instructions
// of the keyed admission).
func (p *statePool) take(i int) *ticketHeader {
	if uint(i) < uint(len(p.slots)) {
		return (*ticketHeader)(slotTake(&p.slots[i].h))
	}
	return nil
}

func (p *statePool) getSpare() *ticketHeader { return p.spare.Get().(*ticketHeader) }

// put returns h to the pool: its P's slot if empty, else the spare pool.
// memBinding.release writes it out (see take).
func (p *statePool) put(h *ticketHeader) {
	ok := p.give(procPin(), h)
	procUnpin()
	if !ok {
		p.spare.Put(h)
	}
}

// give fills P i's slot with h if it is empty; the caller pins i.
func (p *statePool) give(i int, h *ticketHeader) bool {
	return uint(i) < uint(len(p.slots)) && slotGive(&p.slots[i].h, unsafe.Pointer(h))
}
