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

func (p *statePool) get() *ticketHeader {
	var h unsafe.Pointer
	if i := procPin(); uint(i) < uint(len(p.slots)) {
		h = slotTake(&p.slots[i].h)
	}
	procUnpin()
	if h != nil {
		return (*ticketHeader)(h)
	}
	return p.spare.Get().(*ticketHeader)
}

func (p *statePool) put(h *ticketHeader) {
	if i := procPin(); uint(i) < uint(len(p.slots)) && slotGive(&p.slots[i].h, unsafe.Pointer(h)) {
		procUnpin()
		return
	}
	procUnpin()
	p.spare.Put(h)
}
