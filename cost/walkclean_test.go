package cost

import (
	"math/rand/v2"
	"strings"
	"testing"
)

// walkClean reads literals a word at a time and wildcard segments with the
// scan's byte loop, and hands over to scanFrom and matchPath where it
// stops. These hold scanPath to refScan, a plain reading of its contract,
// and walkClean to refScan followed by matchPath from the root, on paths
// with every byte at every offset, empty segments, segments ending in a
// dot, maxSegs-1 to maxSegs+1 segments and lengths up to 70000.

// refScan is scanPath by definition, segment by segment.
func refScan(p string) (c pathCuts, ok bool) {
	const safe = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.~$&+,:=@"
	if p == "" || p[0] != '/' || len(p) > 1<<16-1 {
		return c, false
	}
	segs := strings.Split(p[1:], "/")
	if segs[len(segs)-1] == "" { // a trailing slash, or the root
		c.trailing, segs = true, segs[:len(segs)-1]
	}
	if len(segs) > maxSegs {
		return pathCuts{}, false
	}
	off := 0
	for k, s := range segs {
		if s == "" || s[len(s)-1] == '.' {
			return pathCuts{}, false
		}
		for i := 0; i < len(s); i++ {
			if strings.IndexByte(safe, s[i]) < 0 {
				return pathCuts{}, false
			}
		}
		off += 1 + len(s)
		c.cut[k+1] = uint16(off)
	}
	c.p, c.n = p, len(segs)
	return c, true
}

// walkPaths returns paths for the tables of pats: edgePath's, and each
// changed at one offset to one byte (or with it inserted), or made long.
func walkPaths(rng *rand.Rand, pats []string) []string {
	var ps []string
	for range 20 {
		p := edgePath(rng, pats)
		ps = append(ps, p)
		for range 10 {
			i := rng.IntN(len(p) + 1)
			b := string([]byte{byte(rng.IntN(256))}) // a byte, not a rune's UTF-8
			if rng.IntN(5) == 0 {
				b = []string{"/", ".", "./", "/.", "//", "%2F", "é"}[rng.IntN(7)]
			}
			ps = append(ps, p[:i]+b+p[i:])
			if i < len(p) {
				ps = append(ps, p[:i]+b+p[i+1:])
			}
		}
	}
	return ps
}

// everyByte returns base with each byte 0-255 put in at each offset, and
// put in place of the byte there.
func everyByte(base string) []string {
	var ps []string
	for i := 0; i <= len(base); i++ {
		for b := range 256 {
			s := string([]byte{byte(b)})
			ps = append(ps, base[:i]+s+base[i:])
			if i < len(base) {
				ps = append(ps, base[:i]+s+base[i+1:])
			}
		}
	}
	return ps
}

// longPaths are paths at the offsets' bound and past it, and of
// maxSegs-1 to maxSegs+1 long segments.
func longPaths() []string {
	var ps []string
	for _, n := range []int{0, 1, 6, 7, 8, 9, 1<<16 - 3, 1<<16 - 2, 1<<16 - 1, 1 << 16, 70000} {
		ps = append(ps, "/"+strings.Repeat("a", n), "/crm/"+strings.Repeat("v", n), "/crm/v8/"+strings.Repeat("L", n)+"/")
	}
	for n := maxSegs - 1; n <= maxSegs+1; n++ {
		s := strings.Repeat("/crm", n)
		ps = append(ps, s, s+"/", s+"/x", strings.Repeat("/"+strings.Repeat("b", 5000), n))
	}
	return ps
}

func TestScanPathReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(21, 22))
	paths := longPaths()
	for range 300 {
		paths = append(paths, walkPaths(rng, []string{edgePattern(rng, rng.IntN(2) == 0)})...)
	}
	paths = append(paths, everyByte("/crm/v8/Leads/123")...)
	took := 0
	for _, p := range paths {
		var c pathCuts
		ok := scanPath(p, &c)
		want, wantOK := refScan(p)
		if ok != wantOK || ok && c != want {
			t.Fatalf("scanPath(%.80q) = %v %+v, want %v %+v", p, ok, c, wantOK, want)
		}
		if ok {
			took++
		}
	}
	if took < len(paths)/10 {
		t.Fatalf("scanPath took %d paths of %d", took, len(paths))
	}
}

func TestWalkCleanReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(23, 24))
	nwalked, matched := 0, 0
	check := func(ct *Table, pats []string, paths []string) {
		t.Helper()
		m := ct.m
		if m == nil {
			return
		}
		roots := []*segNode{nil, m.anyMethod}
		for _, mt := range m.methods {
			roots = append(roots, mt.root)
		}
		for _, p := range paths {
			if p == "" || p[0] != '/' || len(p) > 1<<16-1 {
				continue // fastView's checks
			}
			want, wantOK := refScan(p)
			for _, root := range roots {
				var c pathCuts
				r, walked, ok := walkClean(root, p, &c)
				wantC, wantR := want, -1
				if wantOK && root != nil {
					wantR = root.matchPath(&wantC, 0, false)
				}
				if walked && r >= 0 && m.routes[r].multi {
					t.Fatalf("patterns %q, path %.80q: walked to multi route %d", pats, p, r)
				}
				if ok != wantOK || ok && (r != wantR || c != wantC) {
					t.Fatalf("patterns %q, path %.80q: walkClean %d %v %+v, want %d %v %+v",
						pats, p, r, ok, c, wantR, wantOK, wantC)
				}
				if ok {
					nwalked++
				}
				if r >= 0 {
					matched++
				}
			}
		}
	}
	one, err := NewTable(1, Route{Pattern: "GET /crm/v8/{module}", Cost: 1})
	if err != nil {
		t.Fatal(err)
	}
	check(one, nil, longPaths())
	check(one, nil, everyByte("/crm/v8/Leads"))
	for range 400 {
		var pats []string
		for range 1 + rng.IntN(10) {
			p := edgePattern(rng, rng.IntN(3) == 0)
			if _, err := NewTable(0, routesOf(append(pats, p))...); err == nil {
				pats = append(pats, p)
			}
		}
		ct, err := NewTable(0, routesOf(pats)...)
		if err != nil {
			t.Fatal(err)
		}
		check(ct, pats, walkPaths(rng, pats))
	}
	// Chains of short literals, which walkClean compares several at once.
	short := []string{"a", "b", "c", "ab", "crm", "v8", "{w}", "{x...}"}
	for range 400 {
		var pats []string
		for range 1 + rng.IntN(6) {
			var sb strings.Builder
			n := 1 + rng.IntN(6)
			if rng.IntN(5) == 0 {
				n = maxSegs - 1 + rng.IntN(3)
			}
			for i := range n {
				seg := short[rng.IntN(len(short)-1)]
				if i == n-1 && rng.IntN(4) == 0 {
					seg = short[len(short)-1]
				}
				sb.WriteString("/" + seg)
			}
			if _, err := NewTable(0, routesOf(append(pats, sb.String()))...); err == nil {
				pats = append(pats, sb.String())
			}
		}
		ct, err := NewTable(0, routesOf(pats)...)
		if err != nil {
			t.Fatal(err)
		}
		check(ct, pats, walkPaths(rng, pats))
	}
	if nwalked < 50000 || matched < 5000 {
		t.Fatalf("%d paths walked, %d matched", nwalked, matched)
	}
}
