package memory

import (
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
)

// r129TableKeys: every length 0..70, each also with its last byte (and its
// first) changed, and keys about maxKlen long that differ only past it.
func r129TableKeys() []string {
	var ks []string
	for n := 0; n <= 70; n++ {
		k := []byte(strings.Repeat("q", n))
		for i := range k {
			k[i] = byte('a' + (i*7+n)%26)
		}
		ks = append(ks, string(k))
		if n > 0 {
			b := append([]byte(nil), k...)
			b[n-1] ^= 1
			ks = append(ks, string(b))
			c := append([]byte(nil), k...)
			c[0] ^= 0x80
			ks = append(ks, string(c))
		}
	}
	big := strings.Repeat("z", maxKlen+2)
	for _, n := range []int{maxKlen - 1, maxKlen, maxKlen + 1, maxKlen + 2} {
		ks = append(ks, big[:n], big[:n-1]+"y")
	}
	return ks
}

// TestR129TableGetEveryLength: keys of every length, all with one hash (one
// home, one tag, one hlo: every compare is the key's), in and out of the
// table through deletions and rebuilds; get (its leaf for keys in words
// and getAny) must find each key's own tenant and nothing for the others.
func TestR129TableGetEveryLength(t *testing.T) {
	keys := r129TableKeys()
	rng := rand.New(rand.NewPCG(129, 1))
	for _, hashes := range []int{1, 3} {
		hashOf := func(i int) uint64 { return uint64(i%hashes)*0x9e3779b97f4a7c15 | 5 }
		sh := &shard{}
		model := map[int]*tenant{}
		for step := range 60 {
			for range 8 {
				i := rng.IntN(len(keys))
				if model[i] != nil {
					continue
				}
				nt := hashed(hashOf(i))
				nt.setKey(keys[i])
				got, added := sh.insert(nt)
				if !added || got != nt {
					t.Fatalf("step %d: insert of key %d (len %d) found %q", step, i, len(keys[i]), r129Short(got.key))
				}
				model[i] = nt
			}
			if step%5 == 4 {
				cut := rng.IntN(3)
				sh.mu.Lock()
				sh.sweep(func(tn *tenant) bool { return len(tn.key)%3 == cut })
				sh.mu.Unlock()
				for i, tn := range model {
					if len(tn.key)%3 == cut {
						delete(model, i)
					}
				}
			}
			for i, k := range keys {
				if got := sh.get(hashOf(i), k); got != model[i] {
					gk := "<nil>"
					if got != nil {
						gk = r129Short(got.key)
					}
					t.Fatalf("hashes %d step %d: get of key %d (len %d, %q) = %s, want %p", hashes, step, i, len(k), r129Short(k), gk, model[i])
				}
			}
		}
	}
}

func r129Short(k string) string {
	if len(k) > 40 {
		return k[:20] + "..." + k[len(k)-10:]
	}
	return k
}

// TestR129TableGetDuringRebuilds: lookups of keys in words and not, one
// hash for all, while another goroutine inserts and sweeps (rebuilding the
// table): get may miss a key being moved (callers lock and look again) but
// never returns another key's tenant.
func TestR129TableGetDuringRebuilds(t *testing.T) {
	keys := r129TableKeys()[:140]
	const h = 0x1234_5678_9abc_def1
	sh := &shard{}
	var wg sync.WaitGroup
	stop := make(chan struct{})
	wg.Add(1)
	go func() {
		defer wg.Done()
		for r := 0; r < 60; r++ {
			for _, k := range keys {
				nt := hashed(h)
				nt.setKey(k)
				sh.insert(nt)
			}
			sh.mu.Lock()
			sh.sweep(func(tn *tenant) bool { return (len(tn.key)+r)%2 == 0 })
			sh.mu.Unlock()
		}
		close(stop)
	}()
	for g := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := g; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				k := keys[i%len(keys)]
				if got := sh.get(h, k); got != nil && got.key != k {
					t.Errorf("get %q returned %q", k, got.key)
					return
				}
			}
		}()
	}
	wg.Wait()
}
