package strhash

import (
	"fmt"
	"hash/maphash"
	"strings"
	"testing"
)

// TestStringDeterministic: equal strings hash equal under one seed wherever
// their bytes lie, at every length around the hash's block sizes (empty
// and nil-pointer strings included).
func TestStringDeterministic(t *testing.T) {
	seed := NewSeed()
	long := strings.Repeat("abcdefghij", 40)
	for n := 0; n <= len(long); n++ {
		a := long[:n]
		b := string([]byte(a)) // other bytes, same text
		if String(seed, a) != String(seed, b) {
			t.Fatalf("length %d: hashes differ for equal strings", n)
		}
	}
	if String(seed, "") != String(seed, long[:0]) {
		t.Fatal("empty strings hash apart")
	}
}

// TestStringSeeded: the seed changes every hash (a table's keys cannot be
// chosen without it), and one byte changes it too.
func TestStringSeeded(t *testing.T) {
	a, b := NewSeed(), NewSeed()
	if a == b {
		t.Fatal("two seeds alike")
	}
	same := 0
	for i := range 1000 {
		k := fmt.Sprint("tenant-", i)
		if String(a, k) == String(b, k) {
			same++
		}
		if String(a, k) == String(a, k+"x") {
			t.Fatalf("%q and %q collide", k, k+"x")
		}
	}
	if same > 0 {
		t.Fatalf("%d of 1000 keys hash alike under two seeds", same)
	}
}

// TestStringSpread: the bits the memory store reads (the top ones pick a
// shard, the next seven a tag, the low ones a bucket) spread sequential
// keys evenly: no 32nd of the keys' hashes is off its share by a fifth.
func TestStringSpread(t *testing.T) {
	seed := NewSeed()
	const n = 1 << 16
	var top, tag, low [32]int
	for i := range n {
		h := String(seed, fmt.Sprint("key-", i))
		top[h>>59]++
		tag[h>>52&31]++
		low[h&31]++
	}
	for _, c := range [][32]int{top, tag, low} {
		for j, v := range c {
			if v < n/32*4/5 || v > n/32*6/5 {
				t.Fatalf("bucket %d holds %d of %d keys: %v", j, v, n, c)
			}
		}
	}
	// As a reference, maphash's spread of the same keys passes the same bound.
	ms := maphash.MakeSeed()
	var ref [32]int
	for i := range n {
		ref[maphash.String(ms, fmt.Sprint("key-", i))>>59]++
	}
	for j, v := range ref {
		if v < n/32*4/5 || v > n/32*6/5 {
			t.Fatalf("maphash: bucket %d holds %d", j, v)
		}
	}
}

func BenchmarkString(b *testing.B) {
	seed, ms := NewSeed(), maphash.MakeSeed()
	k := "tenant-0000042"
	b.Run("strhash", func(b *testing.B) {
		b.ReportAllocs()
		var x uint64
		for range b.N {
			x += String(seed, k)
		}
		sink = x
	})
	b.Run("maphash", func(b *testing.B) {
		b.ReportAllocs()
		var x uint64
		for range b.N {
			x += maphash.String(ms, k)
		}
		sink = x
	})
}

var sink uint64
