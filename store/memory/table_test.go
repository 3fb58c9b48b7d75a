package memory

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"time"
	"unsafe"

	"github.com/creditgate/creditgate/store"
)

// TestTenantTable checks the shard table against a map model through inserts,
// repeated inserts, sweeps (deleted slots) and the rebuilds they trigger.
func TestTenantTable(t *testing.T) {
	s := New()
	sh := &shard{}
	model := map[string]*tenant{}
	add := func(k string) {
		_, h := s.shardOf(k)
		nt := hashed(h)
		nt.setKey(k)
		got, added := sh.insert(nt)
		if want := model[k]; want != nil {
			if added || got != want {
				t.Fatalf("insert %q again: added=%v, got another tenant", k, added)
			}
			return
		}
		if !added || got != nt {
			t.Fatalf("insert %q: not added", k)
		}
		model[k] = nt
	}
	check := func() {
		t.Helper()
		for i := 0; i < 3000; i++ {
			k := fmt.Sprint("k", i)
			_, h := s.shardOf(k)
			if got := sh.get(h, k); got != model[k] {
				t.Fatalf("get %q = %p, want %p", k, got, model[k])
			}
		}
		if n := len(sh.tenants()); n != len(model) || sh.live != n {
			t.Fatalf("tenants() = %d, live = %d, want %d", n, sh.live, len(model))
		}
		if tab := sh.tab.Load(); tab != nil && sh.used*16 > tab.capacity()*13 {
			t.Fatalf("table over 13/16 full: %d of %d", sh.used, tab.capacity())
		}
	}
	check() // empty
	for round := 0; round < 4; round++ {
		for i := 0; i < 2000; i++ {
			add(fmt.Sprint("k", (i*7+round*500)%3000))
		}
		check()
		sh.mu.Lock()
		n := sh.sweep(func(tn *tenant) bool { return len(tn.key)%2 == round%2 })
		sh.mu.Unlock()
		for k := range model {
			if len(k)%2 == round%2 {
				delete(model, k)
				n--
			}
		}
		if n != 0 {
			t.Fatalf("sweep count off by %d", n)
		}
		check()
	}
	// An empty key is a valid tenant, distinct from an empty slot.
	add("")
	sh.mu.Lock()
	sh.sweep(func(tn *tenant) bool { return tn.key == "" })
	sh.mu.Unlock()
	delete(model, "")
	check()
}

// TestTenantTableConcurrent runs lookups against inserts and sweeps (for -race).
func TestTenantTableConcurrent(t *testing.T) {
	s := New()
	sh := &shard{}
	var wg sync.WaitGroup
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 2000; i++ {
				k := fmt.Sprint("k", (i*31+g)%500)
				_, h := s.shardOf(k)
				if got := sh.get(h, k); got != nil && got.key != k {
					t.Errorf("get %q returned %q", k, got.key)
					return
				}
				if g%2 == 0 {
					nt := hashed(h)
					nt.setKey(k)
					sh.insert(nt)
				} else if i%100 == 0 {
					sh.mu.Lock()
					sh.sweep(func(tn *tenant) bool { return tn.hash()%3 == 0 })
					sh.mu.Unlock()
				}
			}
		}()
	}
	wg.Wait()
	seen := map[string]bool{}
	for _, tn := range sh.tenants() {
		if seen[tn.key] {
			t.Fatalf("tenant %q twice", tn.key)
		}
		seen[tn.key] = true
	}
}

// TestTenantLayout keeps the tenant in a 64-byte-aligned size class, with
// the fields on the lines the tenant's doc says.
func TestTenantLayout(t *testing.T) {
	// The 256-byte size class (above 240) holds objects at multiples of
	// 256 in their span: 64-byte aligned.
	if sz := unsafe.Sizeof(tenant{}); sz <= 240 || sz > 256 {
		t.Fatalf("tenant is %d bytes: not in the 256-byte size class", sz)
	}
	var tn tenant
	line := func(name string, off uintptr, want uintptr) {
		t.Helper()
		if off/64 != want {
			t.Errorf("%s at offset %d: line %d, want line %d", name, off, off/64, want)
		}
	}
	line("hlo", unsafe.Offsetof(tn.hlo), 0)
	line("word", unsafe.Offsetof(tn.word), 0)
	line("kpre's end", unsafe.Offsetof(tn.kpre)+unsafe.Sizeof(tn.kpre)-1, 0)
	line("name0", unsafe.Offsetof(tn.name0), 0)
	line("cls0", unsafe.Offsetof(tn.cls0), 0)
	// The inline pool's head and past end line 0, and its limit, geometry,
	// ring pointer and cur open line 1 (window's TestRollingLayout keeps
	// that order, cur last, 40 bytes in).
	if off := unsafe.Offsetof(tn.roll); off != 48 {
		t.Errorf("the pool at %d, want 48 (its limit at 64)", off)
	}
	line("slots0", unsafe.Offsetof(tn.slots0), 1)
	line("slots0's end", unsafe.Offsetof(tn.slots0)+unsafe.Sizeof(tn.slots0)-1, 1)
	line("lastUsed", unsafe.Offsetof(tn.lastUsed), 1)
	line("w0.reset", unsafe.Offsetof(tn.w0)+unsafe.Offsetof(tn.w0.reset), 1)
	line("w0.reset's end", unsafe.Offsetof(tn.w0)+unsafe.Offsetof(tn.w0.reset)+7, 1)
	line("wins", unsafe.Offsetof(tn.wins), 2)
	line("key", unsafe.Offsetof(tn.key), 3)
	line("cost's end", unsafe.Offsetof(tn.cost)+unsafe.Sizeof(tn.cost)-1, 3)
	for range 16 {
		s := New()
		var l Lease
		var d store.Decision
		s.Take(time.Unix(1e9, 0), &store.Request{Tenant: "t", App: "a", Credits: 1}, benchPlans, &l, &d)
		if p := uintptr(unsafe.Pointer(l.t)); p%64 != 0 {
			t.Fatalf("tenant allocated at %#x, not 64-byte aligned", p)
		}
	}
}

// The store keeps copies of keys, never the caller's strings (which may pin
// a larger buffer): short ones inside the tenant, long ones cloned.
func TestTenantKeyCopied(t *testing.T) {
	s := New()
	for _, n := range []int{0, 1, 13, 24, 25, 35, 36, 300} {
		big := strings.Repeat("k", 1000)
		key := big[:n] // a slice of a larger string
		var ml Lease
		var d store.Decision
		s.Take(time.Unix(1e9, 0), &store.Request{Tenant: key, App: big[:3], Credits: 1}, benchPlans, &ml, &d)
		s.Release(&ml)
		tn := ml.t
		if tn.key != key {
			t.Fatalf("len %d: key %q", n, tn.key)
		}
		if n > 0 && unsafe.StringData(tn.key) == unsafe.StringData(key) {
			t.Fatalf("len %d: the tenant keeps the caller's string", n)
		}
		if unsafe.StringData(*tn.first.name) == unsafe.StringData(big) {
			t.Fatalf("the app entry keeps the caller's string")
		}
		p, lo := uintptr(unsafe.Pointer(unsafe.StringData(tn.key))), uintptr(unsafe.Pointer(tn))
		inside := p >= lo && p < lo+unsafe.Sizeof(*tn)
		if inside != (n > 0 && n <= len(tn.kpre)) {
			t.Fatalf("len %d: key inside the tenant = %v", n, inside)
		}
	}
}

// A lookup compares the key's first bytes in the tenant's first line and the
// rest, if any, from the key: keys that differ only past that prefix, or
// only in length, or only in the prefix are told apart (the hash is forced
// equal here, as in a collision).
func TestTenantKeyCompare(t *testing.T) {
	long := strings.Repeat("p", 24)
	keys := []string{"", "a", "b", "ab", long, long + "x", long + "y", long + "xy", "q" + long[1:] + "x",
		strings.Repeat("z", 35), strings.Repeat("z", 36), strings.Repeat("z", 35) + "y"}
	for _, k := range keys {
		tn := hashed(7)
		tn.setKey(k)
		for _, other := range keys {
			if got := tn.is(7, other); got != (k == other) {
				t.Errorf("tenant %q is %q = %v", k, other, got)
			}
		}
		if tn.is(8, k) {
			t.Errorf("tenant %q matched another hash", k)
		}
	}
}

// benchPlans gives every tenant a plan that never refuses for credits.
func benchPlans(string) *store.Plan { return &benchPlan }

var benchPlan = store.Plan{Name: "bench", Credits: 1 << 40, Concurrency: 1 << 20,
	SubConcurrency: map[string]int64{"bulk": 1 << 20}}

// TestTenantTableMatchesModel drives a shard with random inserts and sweeps
// of keys whose hashes are drawn from a few home buckets and a few tags, so
// that buckets fill, probes run on past full buckets and deleted slots, tags
// collide within a bucket, and tables wrap around; after each step every key
// is looked up against a map model and the slot counts are recounted.
func TestTenantTableMatchesModel(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for trial := range 40 {
		homes, tags := 1+r.IntN(6), 1+r.IntN(3)
		hashOf := func(i int) uint64 {
			// The home bucket is the low 32 bits scaled to the table: a few
			// values near the top of the range wrap probes around the end.
			low := uint64(math.MaxUint32 - uint32(i%homes)*(math.MaxUint32/7))
			return uint64(i%tags)<<tagShift | uint64(i)<<32&(1<<tagShift-1) | low
		}
		sh := &shard{}
		model := map[string]*tenant{}
		keys := 20 + r.IntN(120)
		for step := range 300 {
			if r.IntN(8) == 0 {
				cut := r.IntN(3)
				sh.mu.Lock()
				n := sh.sweep(func(tn *tenant) bool { return int(tn.klen())%3 == cut })
				sh.mu.Unlock()
				for k, tn := range model {
					if int(tn.klen())%3 == cut {
						delete(model, k)
						n--
					}
				}
				if n != 0 {
					t.Fatalf("trial %d step %d: sweep count off by %d", trial, step, n)
				}
			} else {
				i := r.IntN(keys)
				k := strings.Repeat("k", i%5) + fmt.Sprint(i)
				nt := hashed(hashOf(i))
				nt.setKey(k)
				got, added := sh.insert(nt)
				if want := model[k]; want != nil {
					if added || got != want {
						t.Fatalf("trial %d step %d: insert %q again: added=%v", trial, step, k, added)
					}
				} else {
					if !added || got != nt {
						t.Fatalf("trial %d step %d: insert %q: not added", trial, step, k)
					}
					model[k] = nt
				}
			}
			for i := range keys {
				k := strings.Repeat("k", i%5) + fmt.Sprint(i)
				if got := sh.get(hashOf(i), k); got != model[k] {
					t.Fatalf("trial %d step %d: get %q = %p, want %p", trial, step, k, got, model[k])
				}
			}
			tab := sh.tab.Load()
			if tab == nil {
				continue
			}
			used, live := 0, 0
			for i := range tab.buckets {
				tg := tab.buckets[i].tags.Load()
				if tg>>56 != 0 {
					t.Fatalf("bucket %d: byte 7 of the tags is %#x", i, tg>>56)
				}
				for j := range bucketSlots {
					switch b := tg >> (8 * j) & 0xff; {
					case b >= tagLive:
						used++
						live++
						if tab.buckets[i].t[j].Load() == nil {
							t.Fatalf("bucket %d slot %d: a live tag without a tenant", i, j)
						}
					case b == tagDeleted:
						used++
					case b != tagEmpty:
						t.Fatalf("bucket %d slot %d: tag %#x", i, j, b)
					}
				}
			}
			if used != sh.used || live != sh.live || live != len(model) || used*16 > tab.capacity()*13 {
				t.Fatalf("trial %d step %d: used %d (counted %d), live %d (counted %d), model %d, capacity %d",
					trial, step, sh.used, used, sh.live, live, len(model), tab.capacity())
			}
		}
	}
}

// An application table is allocated per tenant: it stays a slice header (24
// bytes, its own size class), with what only class tables need in
// classTable. A dropped-class list on it cost every tenant 32 bytes
// (MemoryPerKey's tenant row: 366 to 398 B).
func TestAppTableSize(t *testing.T) {
	if sz := unsafe.Sizeof(semTable{}); sz != 24 {
		t.Fatalf("semTable is %d bytes, want 24", sz)
	}
}

// hashed returns a tenant whose key hashes to h, as the table sees it.
func hashed(h uint64) *tenant {
	t := &tenant{}
	t.setHash(h)
	return t
}
