package usage

import (
	"hash/maphash"
	"strings"
	"sync/atomic"
)

// keptBits is the size of a tenantFilter: a power of two, 65 per kept
// tenant, so that a tenant not kept passes it 1.5 % of the time.
const keptBits = 1 << 16

// tenantFilter tells, without Stats.mu, that a tenant folds into Other:
// the cap is reached and the tenant's name is not kept. Past the cap most
// tenants are not kept (100,000 tenants take turns, say), and RecordIn
// folds them as it records: their events then merge in the buffer like
// one tenant's burst, and aggregation finds them without the tenants map.
// Written under Stats.mu; a kept name's bit is never clear, not even while
// the filter is set anew (see reset).
type tenantFilter struct {
	full atomic.Bool // DefaultTenants kept: a new tenant folds into Other
	bits [keptBits / 64]atomic.Uint64
}

// folds reports whether tenant, when recorded now, counts as Other. A
// tenant longer than MaxKeyBytes is kept clipped, under a name its own
// hash does not give: it is left to tenantOf. (Inlined: below the cap it
// costs a load.)
func (f *tenantFilter) folds(seed maphash.Seed, tenant string) bool {
	return f.full.Load() && len(tenant) <= MaxKeyBytes && !f.has(seed, tenant)
}

func (f *tenantFilter) has(seed maphash.Seed, name string) bool {
	b := maphash.String(seed, name) % keptBits
	return f.bits[b/64].Load()&(1<<(b%64)) != 0
}

func (f *tenantFilter) add(seed maphash.Seed, name string) {
	b := maphash.String(seed, name) % keptBits
	f.bits[b/64].Or(1 << (b % 64))
}

// resetFilter sets the filter anew from the tenants kept, after some left. Each
// word goes from its old bits to its new ones in one store, and a kept
// name's bit is in both.
func (u *Stats) resetFilter() {
	u.filter.full.Store(false) // first: a tenant dropped may be kept again
	var bits [keptBits / 64]uint64
	for name := range u.tenants {
		b := maphash.String(u.seed, name) % keptBits
		bits[b/64] |= 1 << (b % 64)
	}
	for i, w := range bits {
		u.filter.bits[i].Store(w)
	}
	u.filter.full.Store(u.other != nil && len(u.tenants) >= DefaultTenants)
}

// tenantOf returns the usage of tenant, which it adds unless DefaultTenants
// are kept already; then it returns Other's. Called with u.mu held.
func (u *Stats) tenantOf(tenant string) *tenantUsage {
	if u.filter.folds(u.seed, tenant) {
		return u.other // folds reports false until other is set
	}
	tenant = clip(tenant)
	if tu := u.tenants[tenant]; tu != nil {
		return tu
	}
	if len(u.tenants) >= DefaultTenants {
		if u.other != nil {
			return u.other
		}
		tenant = Other
	}
	tu := &tenantUsage{hours: map[int64]*hourUsage{}}
	tenant = strings.Clone(tenant) // kept for the retention: tenant strings may be slices of larger buffers
	u.tenants[tenant] = tu
	u.filter.add(u.seed, tenant)
	if tenant == Other {
		u.other = tu
	}
	if u.other != nil && len(u.tenants) >= DefaultTenants {
		u.filter.full.Store(true) // after the bit: a reader that sees full sees it
	}
	return tu
}

// dropTenant deletes tenant name, whose usage is tu. The caller resets the
// filter once it is done with dropping.
func (u *Stats) dropTenant(name string, tu *tenantUsage) {
	delete(u.tenants, name)
	if tu == u.other {
		u.other = nil
	}
}
