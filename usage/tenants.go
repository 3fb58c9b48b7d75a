package usage

import (
	"github.com/creditgate/creditgate/internal/words"
	"math/bits"
	"strings"
	"sync/atomic"
	"unicode/utf8"
	"unsafe"
)

// keptWords is the size of a tenantFilter: a power of two, about one word
// (64 bits) per two kept tenants, each setting three bits of one word, so
// that a tenant not kept passes it less than 0.1 % of the time with one
// load. (Each that passes costs about 200 ns: it breaks Other's run in
// the buffer. At one bit in 8 KB, 1.5 % passed.)
const (
	keptBits  = 9
	keptWords = 1 << keptBits
)

// tenantFilter tells, without Stats.mu, that a tenant folds into Other:
// the cap is reached and the tenant's name is not kept. Past the cap most
// tenants are not kept (100,000 tenants take turns, say), and RecordRequest
// folds them as it records: their events then merge in the buffer like
// one tenant's burst, and aggregation finds them without the tenants map.
// Written under Stats.mu; a kept name's bit is never clear, not even while
// the filter is set anew (see resetFilter).
type tenantFilter struct {
	full atomic.Bool // DefaultTenants kept: a new tenant folds into Other
	seed uint64      // of nameHash, set by New
	bits [keptWords]atomic.Uint64
}

// folds reports whether tenant, when recorded now, counts as Other. A
// tenant longer than MaxKeyBytes is kept under another name (see
// tenantKey), which its own hash does not give: it is left to tenantOf.
// A shorter one kept under another name (not valid UTF-8) has its own
// name's bits set as well (see filterName), so the fold needs no UTF-8
// check (~40 instructions a call past the cap). (Inlined: below the cap
// it costs a load, where the call cost ~13 instructions, twice an event.)
func (f *tenantFilter) folds(tenant string) bool { return f.full.Load() && f.foldsPast(tenant) }

// foldsPast is folds once the cap is reached. A name of 9 to 16 bytes,
// the common tenant, is looked up here with no call (hash16 and split
// inlined), where has, bits3 and nameHash cost ~80 instructions a call
// past the cap.
func (f *tenantFilter) foldsPast(tenant string) bool {
	if nameShort(tenant) { // as RecordRequest's
		i, b := split(hash16(f.seed, tenant))
		return f.bits[i].Load()&b != b
	}
	return len(tenant) <= MaxKeyBytes && !f.has(tenant)
}

// filterName is the name, besides its key, whose bits the filter holds
// for tu: its own name when it is kept under a changed key and no longer
// than MaxKeyBytes (so not valid UTF-8), which folds would otherwise fold;
// else "".
func (tu *tenantUsage) filterName() string {
	if tu.renamed && len(tu.name) <= MaxKeyBytes {
		return tu.name
	}
	return ""
}

// nameShort reports whether name has the 9 to 16 bytes that hash16 takes.
func nameShort(name string) bool { return uint(len(name)-9) <= 16-9 }

func (f *tenantFilter) has(name string) bool {
	i, bits := f.bits3(name)
	return f.bits[i].Load()&bits == bits
}

func (f *tenantFilter) add(name string) {
	i, bits := f.bits3(name)
	f.bits[i].Or(bits)
}

// bits3 returns the word of name and its three bits in it.
func (f *tenantFilter) bits3(name string) (int, uint64) { return split(nameHash(f.seed, name)) }

// split returns the word of a name whose hash is h, and its three bits in it.
func split(h uint64) (int, uint64) {
	return int(h >> (64 - keptBits)), 1<<(h&63) | 1<<(h>>6&63) | 1<<(h>>12&63)
}

// nameHash hashes a tenant's name for the filter: all of its bytes, eight
// at a time, without maphash's call and page check (a third of what
// recording cost at 100,000 tenants). Its quality only decides how often a
// tenant not kept passes the filter and asks the map, never a count.
func nameHash(seed uint64, s string) uint64 {
	if uint(len(s)-9) <= 16-9 {
		return hash16(seed, s)
	}
	h := seed ^ uint64(len(s))
	if len(s) < 8 {
		var w uint64
		for i := range len(s) {
			w |= uint64(s[i]) << (8 * i)
		}
		return mix(h ^ w)
	}
	for i := 0; i+8 < len(s); i += 8 {
		h = mix(h ^ le64(s[i:]))
	}
	return mix(h ^ le64(s[len(s)-8:])) // the last eight, which may overlap
}

// hash16 is nameHash of a name of 9 to 16 bytes: its loop once, over
// two overlapping words, loaded whole where words may be loaded at any
// address (in the machine's byte order: each name is hashed here alone,
// whoever asks, so the filter's bits agree).
func hash16(seed uint64, s string) uint64 {
	n := len(s)
	if !words.Unaligned {
		return mix(mix(seed^uint64(n)^le64(s)) ^ le64(s[n-8:]))
	}
	p := unsafe.Pointer(unsafe.StringData(s))
	return mix(mix(seed^uint64(n)^*(*uint64)(p)) ^ *(*uint64)(unsafe.Add(p, n-8)))
}

func mix(h uint64) uint64 {
	h *= 0x9e3779b97f4a7c15
	return h ^ h>>29
}

// le64 reads s's first eight bytes (one load: the compiler merges them).
func le64(s string) uint64 {
	_ = s[7]
	return uint64(s[0]) | uint64(s[1])<<8 | uint64(s[2])<<16 | uint64(s[3])<<24 |
		uint64(s[4])<<32 | uint64(s[5])<<40 | uint64(s[6])<<48 | uint64(s[7])<<56
}

// resetFilter sets the filter anew from the tenants kept, after some left.
// Each word goes from its old bits to its new ones in one store, and a
// kept name's bit is in both.
func (u *Stats) resetFilter() {
	u.filter.full.Store(false) // first: a tenant dropped may be kept again
	var bits [keptWords]uint64
	for name, tu := range u.tenants {
		i, b := u.filter.bits3(name)
		bits[i] |= b
		if name := tu.filterName(); name != "" {
			i, b := u.filter.bits3(name)
			bits[i] |= b
		}
	}
	for i, w := range bits {
		u.filter.bits[i].Store(w)
	}
	u.filter.full.Store(u.other != nil && len(u.tenants) >= DefaultTenants)
}

// tenantOf returns the usage of tenant, which it adds unless DefaultTenants
// are kept already; then it returns Other's (for an event of hour).
// An event that corrects a call counted before (a settle, a refusal)
// adds no tenant: where the tenant has no row, Other has one, its call
// was Other's (a prune may have made room since), and the correction goes
// there too. The caller still checks the row's from (see apply). Called
// with u.mu held.
func (u *Stats) tenantOf(tenant string, hour int64, corrects bool) *tenantUsage {
	if u.filter.folds(tenant) {
		if !corrects {
			// By its key, which addTenant reads: a name not valid UTF-8
			// folds too (see tenantFilter), kept under another key.
			u.foldedAt(tenantKey(tenant), hour)
		}
		return u.other // folds reports false until other is set
	}
	tu, h := u.findTenant(tenant)
	if tu != nil {
		return tu
	}
	name := tenant
	tenant = tenantKey(tenant)
	if tu := u.tenants[tenant]; tu != nil {
		if tenant == name { // h is its key's slot
			u.addIndex(h, tu)
		}
		return tu
	}
	if corrects && u.other != nil {
		return u.other
	}
	if len(u.tenants) >= DefaultTenants {
		if !corrects {
			u.foldedAt(tenant, hour)
		}
		return u.otherUsage()
	}
	return u.addTenant(tenant, name, h)
}

// otherUsage returns Other's usage, which it adds if none is kept, even
// with DefaultTenants rows kept: Other then makes one more, and new rows
// wait until a prune leaves fewer than DefaultTenants, Other included (as
// tenantOf counts them). Called with u.mu held.
func (u *Stats) otherUsage() *tenantUsage {
	if u.other == nil {
		u.addTenant(Other, Other, indexOf(u.filter.seed, Other))
	}
	return u.other
}

// addTenant adds the usage of a tenant kept under key, whose name it was
// recorded with is name, and whose key's first index slot is h. The row
// counts from the hour after the latest hour the aggregator placed an
// event of a tenant of its fold slot in Other (see foldedAt): the
// tenant's events of that hour may be Other's, and the rest of the hour
// goes there too.
// Called with u.mu held.
func (u *Stats) addTenant(key, name string, h uint64) *tenantUsage {
	tu := &tenantUsage{hours: map[int64]*hourUsage{}}
	renamed := key != name // Other is made by otherUsage, under its own name
	if renamed {
		tu.renamed = true
		if len(name) <= maxNameBytes {
			tu.name = strings.Clone(name) // see TenantName; the caller's may be a slice of a larger buffer
		}
	}
	key = strings.Clone(key) // kept for the retention: tenant strings may be slices of larger buffers
	tu.key = key
	u.tenants[key] = tu
	if !renamed {
		u.addIndex(h, tu)
	}
	u.filter.add(key)
	if name := tu.filterName(); name != "" {
		u.filter.add(name)
	}
	if key == Other {
		u.other = tu
	} else {
		tu.from = u.fromOf(key)
	}
	if u.other != nil && len(u.tenants) >= DefaultTenants {
		u.filter.full.Store(true) // after the bit: a reader that sees full sees it
	}
	return tu
}

// The index of kept tenants (Stats.index): twice DefaultTenants slots,
// a tenant in one of the indexProbes from its key's hash, or (all taken:
// rare, or hostile names) left to the map.
const (
	indexBits   = 11
	indexSlots  = 1 << indexBits
	indexProbes = 4
)

// findTenant returns the kept tenant whose key is name, if the index has
// it, and name's first slot (for addIndex): with the filter's hash, where
// tenantKey's UTF-8 check and the map's lookup cost ~200 instructions on
// every event aggregated. That tenant is the map's for name: a key is
// what tenantKey leaves as it is (valid UTF-8, short), so tenantKey would
// have looked up name itself. Every probe is looked at, past empty slots
// (a dropped tenant's), so that a tenant is never indexed twice.
//
// A name of 8 to 16 bytes, the common tenant, is hashed here inline
// (index16), where indexOf's call cost ~25 instructions an event.
func (u *Stats) findTenant(name string) (*tenantUsage, uint64) {
	var h uint64
	if n := len(name); n >= 8 && n <= 16 {
		h = index16(u.filter.seed, name)
	} else {
		h = indexOf(u.filter.seed, name)
	}
	for i := range uint64(indexProbes) {
		if tu := u.index[(h+i)%indexSlots]; tu != nil && words.Equal(tu.key, name) {
			return tu, h
		}
	}
	return nil, h
}

// indexOf is the first slot of name's probes: a hash's top bits (mix
// leaves its low bits alike for names alike in their first bytes). A
// name of 8 to 16 bytes, the common tenant, is hashed with one mix of its
// two words (overlapping), where nameHash's loop and two mixes cost ~40
// instructions on every event aggregated; any other with nameHash. Its
// quality only decides how often a tenant is left to the map.
func indexOf(seed uint64, name string) uint64 {
	if n := len(name); n >= 8 && n <= 16 {
		return index16(seed, name)
	}
	return nameHash(seed, name) >> (64 - indexBits)
}

// index16 is indexOf of a name of 8 to 16 bytes: its first and last
// eight, loaded whole where words may be (as hash16 does).
func index16(seed uint64, name string) uint64 {
	n := len(name)
	x, y := uint64(0), uint64(0)
	if words.Unaligned {
		p := unsafe.Pointer(unsafe.StringData(name))
		x, y = *(*uint64)(p), *(*uint64)(unsafe.Add(p, n-8))
	} else {
		x, y = le64(name), le64(name[n-8:])
	}
	return mix(seed^uint64(n)^x^bits.RotateLeft64(y, 29)) >> (64 - indexBits)
}

// addIndex indexes tu, a tenant of tenants whose key's first slot is h,
// which findTenant did not find, in a free slot if it has one.
func (u *Stats) addIndex(h uint64, tu *tenantUsage) {
	for i := range uint64(indexProbes) {
		if s := &u.index[(h+i)%indexSlots]; *s == nil && !u.noIndex {
			*s = tu
			return
		}
	}
}

// maxNameBytes bounds a tenant's name kept beside its changed key (see
// TenantName): with at most DefaultTenants+1 tenants, their names hold at
// most about 4 MiB, where a limiter's keys may be 1 MiB each.
const maxNameBytes = 16 * MaxKeyBytes

// TenantName returns the name of the tenant whose statistics [Stats.Tenants]
// and [Stats.TenantRows] show under key: the name its events were recorded
// with, which is key itself unless the statistics keep the tenant under a
// changed key (a name not valid UTF-8, or longer than [MaxKeyBytes]: see
// there). A dashboard that lists tenants by key asks a limiter for the
// pool of that name. ok is false, and name "", when no tenant is kept
// under key (one never recorded, pruned, or folded into [Other]), or when
// its name, longer than 4 KiB, was not kept. Two names kept under one key
// (a changed key that another tenant has as its own name: a 64-bit hash
// in common) share that key's statistics, and TenantName gives the first.
func (u *Stats) TenantName(key string) (name string, ok bool) {
	if len(key) > MaxKeyBytes {
		return "", false // no key is that long: see tenantKey
	}
	u.flush()
	u.mu.Lock()
	defer u.mu.Unlock()
	switch tu := u.tenants[key]; {
	case tu == nil || tu.renamed && tu.name == "":
		return "", false
	case tu.renamed:
		return tu.name, true
	}
	return key, true
}

// dropTenant deletes tenant name, whose usage is tu. The caller resets the
// filter once it is done with dropping.
func (u *Stats) dropTenant(name string, tu *tenantUsage) {
	delete(u.tenants, name)
	h := indexOf(u.filter.seed, name)
	for i := range uint64(indexProbes) {
		if s := &u.index[(h+i)%indexSlots]; *s == tu {
			*s = nil
		}
	}
	if tu == u.other {
		u.other = nil
	}
}

// validName is utf8.ValidString for the names and keys recording checks,
// with a faster common case: a name of ASCII bytes is checked in 8-byte
// words (le64, as nameHash reads them; the last one overlapping), where
// ValidString costs ~120 instructions for a 13-byte tenant name, on every
// call past the cap at 100,000 tenants and on every event that tenantOf
// looks up.
func validName(s string) bool {
	n := len(s)
	if n < 8 {
		return utf8.ValidString(s)
	}
	var or uint64
	for i := 0; i+8 <= n; i += 8 {
		or |= le64(s[i:])
	}
	or |= le64(s[n-8:])
	if or&0x8080808080808080 == 0 {
		return true
	}
	return utf8.ValidString(s)
}

// The aggregator's fold slots (Stats.folded): the latest hour in which it
// placed an event of a tenant of the slot in Other, for want of room or
// by the filter (an event RecordRequest folded is Other's as recorded, and its
// corrections name Other: see RecordIn). A row made for a tenant counts
// from the hour after its slot's (see addTenant). 8,192 slots: a burst of
// such folds as an hour turns defers few new rows.
const (
	foldBits  = 13
	foldSlots = 1 << foldBits
)

// foldedAt notes that the aggregator placed an event of hour of the tenant
// kept under key in Other. An hour more than one past the window's last
// counts as the one after it: a stray call dated far ahead (a clock
// stepped) then defers its slot's rows by two hours at most, not until
// its hour. Called with u.mu held.
func (u *Stats) foldedAt(key string, hour int64) {
	if u.folded == nil {
		u.folded = make([]int64, foldSlots)
		for i := range u.folded {
			u.folded[i] = noHour
		}
	}
	s := &u.folded[u.foldSlot(key)]
	*s = max(*s, min(hour, u.newest+1))
}

// foldSlot is the fold slot of the tenant kept under key.
func (u *Stats) foldSlot(key string) uint64 {
	return nameHash(^u.filter.seed, key) >> (64 - foldBits)
}

// fromOf is the first hour a row made now for the tenant kept under key
// counts (see addTenant). Called with u.mu held.
func (u *Stats) fromOf(key string) int64 {
	if u.folded == nil {
		return noHour + 1
	}
	return u.folded[u.foldSlot(key)] + 1
}
