// Package layout holds what this module's packages share about memory
// layout without putting it in their public API: the in-memory store packs
// a tenant's hot state beside a window.Rolling on one cache line, which
// takes an in-place constructor and the size of the line's free tail.
package layout

// FreeBytes is how many bytes of the cache line a window.Rolling writes on
// every take follow the Rolling, when the Rolling starts at a 64-byte
// boundary: an embedder can put there what it writes with every take.
const FreeBytes = 64 - 8

// InitRolling sets up a zero window.Rolling in place, for a Rolling embedded
// in a larger struct; it must run before the Rolling is shared. Package
// window sets it when it is initialised; its dynamic type is
// func(r *window.Rolling, limit int64, length time.Duration, slots int) error
// (slots 0: the default).
var InitRolling any
