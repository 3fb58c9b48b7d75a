package cost

import (
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// walkClean compares literals, and chains of them, with the path in 8-byte
// words: a literal and its slash fit when it has at most 7 bytes, the word
// at the path's end is shifted down with zeros past it, and paths under 8
// bytes go to scanFrom. These tables are made of literals of every length
// from 1 to 9 (so 7 and 8 bytes, and chains of them longer than a word),
// their case twins, literals ending in a dot or with unsafe bytes, a fan of
// versions, wildcards, multi wildcards, {$} and trailing slashes, under
// usual and unusual methods; the paths fill their wildcards with segments
// of 1 to 20 bytes and then change a byte, put one in (0x00, 0x80-0xFF,
// '.', '/') or cut the last, near the words' edges. Each request is held
// to ServeMux (checkSame), to refScan and matchPath from every tree, and to
// the slow path's price (checkPrices), with and without a method override.

// wordLits are literals of 1 to 9 bytes, twins in case, and unclean ones.
var wordLits = []string{
	"a", "ab", "abc", "crm", "v8", "V8", "abcd", "abcde", "abcdef",
	"abcdefg", "ABCDEFG", "abcdefG", "bulk", "abcdefgh", "ABCDEFGH", "abcdefghi",
	"Leads", "leads", "1234567", "12345678", "x-y_z~", "a$", "@:=", "ab.",
	"a%3Bb", "%C3%A9", "a.b", "z",
}

// wordPattern returns a pattern (often valid) of wordLits and wildcards.
func wordPattern(rng *rand.Rand) string {
	var sb strings.Builder
	if m := []string{"", "GET", "HEAD", "POST", "PROPFIND", "CONNECT"}[rng.IntN(6)]; m != "" {
		sb.WriteString(m + " ")
	}
	n := 1 + rng.IntN(5)
	if rng.IntN(8) == 0 {
		n = maxSegs - 1 + rng.IntN(3)
	}
	for i := range n {
		var seg string
		switch k := rng.IntN(20); {
		case k < 14:
			seg = wordLits[rng.IntN(len(wordLits))]
		case k < 17:
			seg = fmt.Sprintf("{w%d}", i)
		case k == 17 && i == n-1:
			seg = "{m...}"
		case k == 18 && i == n-1:
			seg = "{$}"
		default:
			seg = fmt.Sprintf("v%d", rng.IntN(12))
		}
		sb.WriteString("/" + seg)
	}
	if rng.IntN(6) == 0 && !strings.HasSuffix(sb.String(), "}") {
		sb.WriteString("/")
	}
	return sb.String()
}

// wordTable registers random wordPatterns (and, at times, a fan of
// versions under /crm), dropping those ServeMux rejects.
func wordTable(t testing.TB, rng *rand.Rand) (*Table, []string) {
	var pats []string
	if rng.IntN(4) == 0 {
		for v := range 4 + rng.IntN(12) {
			pats = append(pats, fmt.Sprintf("GET /crm/v%d/{module}", v))
		}
	}
	for range 1 + rng.IntN(6) {
		p := wordPattern(rng)
		if _, err := NewTable(0, routesOf(append(pats, p))...); err == nil {
			pats = append(pats, p)
		}
	}
	ct, err := NewTable(0, routesOf(pats)...)
	if err != nil {
		t.Fatal(err)
	}
	return ct, pats
}

// wordPath instantiates a pattern of pats, then perhaps changes it near a
// word's edge.
func wordPath(rng *rand.Rand, pats []string) string {
	var segs []string
	trailing := false
	_, _, ps := parsePattern(pats[rng.IntN(len(pats))])
	for _, s := range ps {
		switch {
		case s.multi:
			trailing = rng.IntN(2) == 0
			for range rng.IntN(3) {
				segs = append(segs, wordLits[rng.IntN(len(wordLits))])
			}
		case s.s == "/":
			trailing = true
		case s.wild:
			b := make([]byte, 1+rng.IntN(20))
			for i := range b {
				b[i] = "aZ09xY-_.~"[rng.IntN(10)]
			}
			if rng.IntN(2) == 0 {
				b = b[:min(len(b), 1+rng.IntN(8))]
				for i := range b {
					b[i] = "aZ09"[rng.IntN(4)]
				}
			}
			segs = append(segs, string(b))
		default:
			segs = append(segs, s.s)
		}
	}
	p := "/" + strings.Join(segs, "/")
	if trailing && len(segs) > 0 {
		p += "/"
	}
	switch rng.IntN(10) {
	case 0: // a byte changed, or put in
		i := rng.IntN(len(p) + 1)
		b := []string{"\x00", "\x80", "\xff", ".", "/", "A", "a", ";", "é"}[rng.IntN(9)]
		if rng.IntN(3) == 0 {
			b = string([]byte{byte(rng.IntN(256))})
		}
		if i < len(p) && rng.IntN(2) == 0 {
			p = p[:i] + b + p[i+1:]
		} else {
			p = p[:i] + b + p[i:]
		}
	case 1: // the last byte cut
		if len(p) > 1 {
			p = p[:len(p)-1]
		}
	case 2: // a segment's case changed
		if len(segs) > 0 {
			k := rng.IntN(len(segs))
			segs[k] = strings.ToUpper(segs[k])
			p = "/" + strings.Join(segs, "/")
		}
	case 3:
		p += "/"
	}
	return p
}

func checkWordRequests(t *testing.T, rng *rand.Rand, n int) (fast, walked int) {
	ct, pats := wordTable(t, rng)
	if ct.m == nil || len(pats) == 0 {
		return 0, 0
	}
	priced := pricedTable(t, rng, pats)
	roots := []*segNode{nil, ct.m.anyMethod}
	for _, mt := range ct.m.methods {
		roots = append(roots, mt.root)
	}
	for range n {
		p := wordPath(rng, pats)
		if p != "" && p[0] == '/' && len(p) <= 1<<16-1 {
			want, wantOK := refScan(p)
			for _, root := range roots {
				var c pathCuts
				r, w, ok := walkClean(root, p, &c)
				wantC, wantR := want, -1
				if wantOK && root != nil {
					wantR = root.matchPath(&wantC, 0, false)
				}
				if ok != wantOK || ok && (r != wantR || c != wantC) || w && r >= 0 && ct.m.routes[r].multi {
					t.Fatalf("patterns %q, path %q: walkClean %d %v %v %+v, want %d %v %+v",
						pats, p, r, w, ok, c, wantR, wantOK, wantC)
				}
				if w {
					walked++
				}
			}
		}
		method := []string{"", "GET", "HEAD", "POST", "PUT", "PROPFIND", "CONNECT", "get"}[rng.IntN(8)]
		r := &http.Request{Method: method, URL: &url.URL{Path: p, RawQuery: "x=1"}, Host: "h"}
		checkSame(t, ct, pats, r)
		if _, _, st := ct.fastView(r, new(pathCuts)); st&fastDone == 0 {
			continue
		}
		fast++
		if rng.IntN(4) == 0 {
			r.Header = http.Header{[]string{"X-Http-Method-Override", "X-Http-Method", "X-Method-Override"}[rng.IntN(3)]: {
				[]string{"POST", "GET", "get, POST", "PROPFIND", "CONNECT"}[rng.IntN(5)]}}
		}
		checkPrices(t, ct, pats, r)
		checkPrices(t, priced, pats, r)
	}
	return fast, walked
}

func TestWalkCleanWordEdges(t *testing.T) {
	rng := rand.New(rand.NewPCG(71, 72))
	tables, fast, walked := 400, 0, 0
	if testing.Short() {
		tables = 60
	}
	for range tables {
		f, w := checkWordRequests(t, rng, 40)
		fast, walked = fast+f, walked+w
	}
	t.Logf("%d fast paths, %d walked to their end, of %d", fast, walked, tables*40)
	if fast < tables*40/3 || walked < tables*40/15 {
		t.Fatalf("%d fast paths, %d walked to their end, of %d", fast, walked, tables*40)
	}
}

// FuzzWalkCleanWords runs TestWalkCleanWordEdges's checks on the table and
// paths that the fuzzed seeds make.
func FuzzWalkCleanWords(f *testing.F) {
	f.Fuzz(func(t *testing.T, a, b uint64) {
		checkWordRequests(t, rand.New(rand.NewPCG(a, b)), 100)
	})
}
