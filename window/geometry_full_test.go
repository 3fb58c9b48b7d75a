package window

import (
	"testing"
	"time"
)

// Once hostile lengths have filled the geometry table, windows of a length
// first asked for afterwards still share one geometry, and the table stays
// bounded (before, every such window got a geometry of its own: a plan
// made after the table filled never shared, and TestRollingLayout failed
// when shuffled after TestGeometryInternBounded).
func TestGeometrySharedAfterTableFills(t *testing.T) {
	for i := range maxGeometryCache + 10 {
		must(NewRolling(1, time.Duration(3_000_017+i)*time.Millisecond))
	}
	W := 5*time.Hour + 7*time.Second // not asked for before
	a, b := must(NewRolling(1, W)), must(NewRolling(2, W))
	if a.g != b.g {
		t.Fatal("two windows of one length and slot count do not share a geometry once the table filled")
	}
	checkGeometry(t, a, W, DefaultSlots)
	geometryCache.Lock()
	n := len(geometryCache.m)
	geometryCache.Unlock()
	if n > maxGeometryCache {
		t.Fatalf("%d geometries interned, more than %d", n, maxGeometryCache)
	}
}
