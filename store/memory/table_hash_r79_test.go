package memory

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
)

// TestTenantTableHashHalves (holds on 400265c): tenants whose hashes share
// the low 32 bits but not the tag, the tag but not the low half, both but
// not the bits between (which the table no longer keeps), or the whole
// hash, with keys that share prefixes and lengths (up to 65,535 and 65,536
// bytes, both held as maxKlen), are each found by their own key through
// growth and sweeps, and a key with another's hash finds nothing.
func TestTenantTableHashHalves(t *testing.T) {
	big := strings.Repeat("z", maxKlen+1)
	rng := rand.New(rand.NewPCG(79, 1))
	const shardHi = uint64(0x5a) << (64 - shardBits)
	lo := uint64(rng.Uint32())
	tag := uint64(0x33) << tagShift
	mid := func() uint64 { return rng.Uint64() & (1<<tagShift - 1) &^ (1<<32 - 1) }
	var hashes []uint64
	for i := range 40 {
		switch i % 4 {
		case 0: // the low half shared, another tag
			hashes = append(hashes, shardHi|uint64(i%128)<<tagShift|mid()|lo)
		case 1: // the tag shared, another low half
			hashes = append(hashes, shardHi|tag|mid()|uint64(rng.Uint32()))
		case 2: // both shared, other bits between
			hashes = append(hashes, shardHi|tag|mid()|lo)
		default: // the whole hash
			hashes = append(hashes, shardHi|tag|lo)
		}
	}
	keyOf := func(i int) string {
		switch i % 5 {
		case 0:
			return fmt.Sprintf("k%07d", i) // 8 bytes: keyIs
		case 1:
			return fmt.Sprintf("%024d", i) // 24 bytes
		case 2:
			return big[:maxKlen-i] // long, one length each
		case 3:
			return big[:maxKlen] + fmt.Sprint(i) // > maxKlen: compared past kpre through key
		default:
			return big[:8+i] // shares its prefix with all the long ones
		}
	}
	sh := &shard{}
	live := map[int]*tenant{}
	check := func(what string) {
		t.Helper()
		for i, h := range hashes {
			if got := sh.get(h, keyOf(i)); got != live[i] {
				t.Fatalf("%s: get of tenant %d: %p, want %p", what, i, got, live[i])
			}
		}
		if got := sh.get(hashes[3], big[:maxKlen+1]); got != nil && !strings.HasPrefix(got.key, big[:maxKlen+1]) {
			t.Fatalf("%s: a key of %d bytes found a tenant of %d", what, maxKlen+1, len(got.key))
		}
		if got := sh.get(hashes[3], big[:maxKlen]); got != nil && got.key != big[:maxKlen] {
			t.Fatalf("%s: a key of %d bytes found a tenant of %d", what, maxKlen, len(got.key))
		}
	}
	for round := range 6 {
		for i, h := range hashes {
			if live[i] != nil || rng.IntN(3) == 0 {
				continue
			}
			nt := hashed(h)
			nt.setKey(keyOf(i))
			if got, added := sh.insert(nt); !added || got != nt {
				t.Fatalf("round %d: insert of tenant %d found %q", round, i, got.key)
			}
			live[i] = nt
			if nt.hash() != h&(0x7f<<tagShift|1<<32-1) {
				t.Fatalf("hash() %#x of %#x", nt.hash(), h)
			}
		}
		check(fmt.Sprintf("round %d grown", round))
		sh.mu.Lock()
		sh.sweep(func(tn *tenant) bool {
			for i, x := range live {
				if x == tn && rng.IntN(2) == 0 {
					delete(live, i)
					return true
				}
			}
			return false
		})
		sh.mu.Unlock()
		check(fmt.Sprintf("round %d swept", round))
		checkTableShape(t, sh, fmt.Sprintf("round %d", round))
	}
}
