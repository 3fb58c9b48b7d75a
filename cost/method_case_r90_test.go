package cost

import (
	"math/rand/v2"
	"strings"
	"testing"
)

// The differential tests hold Match and Lookup to slowPrice only on the
// paths fastView takes (st&fastDone), and matchMethods has no method in
// lower case: since db7af6a and 3c2a52f a method with lower-case letters
// never takes the fast path, so no differential test reads one, and
// slowPrice reads it with the same lowerMethod as views. This property is
// independent of both: a method in lower case (or mixed) costs at least
// what it costs in capitals, on random tables (with classes and pricers)
// and random paths, odd ones too, and takes its class when it has one.
// Guard test: fails when views reads no capitals for it (drop
// "|| lowerMethod(r.Method)" in views), or when fastView keeps it.
func TestLowerMethodAtLeastItsCapitals_r90(t *testing.T) {
	rng := rand.New(rand.NewPCG(90, 91))
	checked, dear := 0, 0
	for range 400 {
		ct, pats := randomTable(t, rng)
		priced := pricedTable(t, rng, pats)
		for range 40 {
			up := []string{"GET", "HEAD", "POST", "DELETE"}[rng.IntN(4)]
			low := strings.ToLower(up)
			if rng.IntN(2) == 0 {
				low = up[:1] + low[1:]
			}
			raw := randomPath(rng)
			for _, tab := range []*Table{ct, priced} {
				ru, rl := requestFor(up, raw), requestFor(low, raw)
				if ru == nil || rl == nil {
					continue
				}
				pu, erru := tab.Match(ru)
				pl, errl := tab.Match(rl)
				if erru != nil || errl != nil {
					continue
				}
				checked++
				if pu.Credits > tab.defaultCost {
					dear++
				}
				if pl.Credits < pu.Credits || pu.Class != "" && pl.Class == "" {
					t.Fatalf("patterns %q, path %q: %s costs %d (class %q, %q), %s costs %d (class %q, %q)",
						pats, raw, low, pl.Credits, pl.Class, pl.Pattern, up, pu.Credits, pu.Class, pu.Pattern)
				}
				if pl.Credits > tab.defaultCost && !pl.Unclean && pl.Pattern != pu.Pattern {
					t.Fatalf("patterns %q, path %q: %s priced by %q not unclean", pats, raw, low, pl.Pattern)
				}
			}
		}
	}
	if checked < 10000 || dear < 1000 {
		t.Fatalf("%d requests checked, %d dearer than the default: too few", checked, dear)
	}
}
