// Package layout holds what this module's packages share about memory
// layout without putting it in their public API: the in-memory store packs
// a tenant's hot state beside a window.Rolling, which takes an in-place
// constructor.
package layout

// InitRolling sets up a zero window.Rolling in place, for a Rolling embedded
// in a larger struct; it must run before the Rolling is shared. Package
// window sets it when it is initialised; its dynamic type is
// func(r *window.Rolling, limit int64, length time.Duration, slots int) error
// (slots 0: the default).
var InitRolling any
