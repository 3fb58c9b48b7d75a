package usage

import (
	"hash/maphash"
	"strings"
)

// keptBits is the size of Stats.kept: 64 per kept tenant, so that a
// tenant past the cap passes the filter 1.5 % of the time.
const keptBits = 64 * DefaultTenants

// tenantOf returns the usage of tenant, which it adds unless DefaultTenants
// are kept already; then it returns Other's. Called with u.mu held.
func (u *Stats) tenantOf(tenant string) *tenantUsage {
	// Past the cap most tenants are not kept, and the filter says so
	// without the map's memory. A tenant longer than MaxKeyBytes is kept
	// clipped, under a name its hash does not give: the map decides.
	if u.other != nil && len(u.tenants) >= DefaultTenants && len(tenant) <= MaxKeyBytes && !u.mayKeep(tenant) {
		return u.other
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
	u.filter(tenant)
	if tenant == Other {
		u.other = tu
	}
	return tu
}

// dropTenant deletes tenant name, whose usage is tu. The caller refilters
// once it is done with dropping.
func (u *Stats) dropTenant(name string, tu *tenantUsage) {
	delete(u.tenants, name)
	if tu == u.other {
		u.other = nil
	}
}

// refilter sets the filter anew from the tenants kept, after some left.
func (u *Stats) refilter() {
	clear(u.kept[:])
	for k := range u.tenants {
		u.filter(k)
	}
}

func (u *Stats) filter(name string) {
	b := maphash.String(u.seed, name) % keptBits
	u.kept[b/64] |= 1 << (b % 64)
}

// mayKeep reports whether tenant name may have an entry: false means not.
func (u *Stats) mayKeep(name string) bool {
	b := maphash.String(u.seed, name) % keptBits
	return u.kept[b/64]&(1<<(b%64)) != 0
}
