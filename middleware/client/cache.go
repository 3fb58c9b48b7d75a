package client

import (
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/creditgate/creditgate/cost"
)

// maxCacheRules bounds the caching rules: a write names the routes it
// invalidates in one word.
const maxCacheRules = 64

// cache is a bounded map of snapshots with a TTL each, least recently used
// first out. Safe for concurrent use.
type cache struct {
	maxEntries int
	maxBytes   int64

	mu      sync.Mutex // protects the fields below and every entry's
	m       map[key]*entry
	head    *entry // most recently used
	tail    *entry
	bytes   int64
	gen     atomic.Uint64 // counts invalidations (writes to cached paths); bumped under mu
	evicted int64
}

type entry struct {
	k          key
	route      int    // the caching rule's index
	module     string // "" for none
	snap       *snapshot
	stored     int64 // Unix ns
	expires    int64 // Unix ns
	size       int64
	prev, next *entry
}

func newCache(entries int, bytes int64) *cache {
	return &cache{maxEntries: entries, maxBytes: bytes, m: map[key]*entry{}}
}

// generation is the count of invalidations so far: put stores only if no
// invalidation came since the caller read it before sending its call. Its
// own count, not the saver's of every watched write (saver.gen): a write
// outside the cached paths changes no entry, and must not keep answers
// out of the cache.
func (c *cache) generation() uint64 { return c.gen.Load() }

// get returns the live entry of k, or nil (dropping it if expired); with
// maxAge >= 0 (seconds, a request's Cache-Control max-age), nil if the
// entry is as old or older (so max-age=0 takes none, as browsers read it).
func (c *cache) get(k key, now time.Time, maxAge int64) *snapshot {
	c.mu.Lock()
	defer c.mu.Unlock()
	e := c.m[k]
	if e == nil {
		return nil
	}
	if now.UnixNano() >= e.expires {
		c.drop(e)
		return nil
	}
	if maxAge >= 0 && (now.UnixNano()-e.stored)/int64(time.Second) >= maxAge { // in seconds: no overflow
		return nil // the fresh answer will replace it
	}
	c.unlink(e)
	c.pushFront(e)
	return e.snap
}

// put stores e unless an invalidation came after gen (generation, read
// before the call was sent) or it is too large,
// replacing k's entry and evicting the least recently used as needed.
func (c *cache) put(e *entry, gen uint64) bool {
	if e.size > c.maxBytes {
		return false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.gen.Load() != gen {
		return false
	}
	if old := c.m[e.k]; old != nil {
		c.drop(old)
	}
	for c.tail != nil && (len(c.m) >= c.maxEntries || c.bytes+e.size > c.maxBytes) {
		c.drop(c.tail)
		c.evicted++
	}
	c.m[e.k] = e
	c.bytes += e.size
	c.pushFront(e)
	return true
}

// invalidate drops the entries of module (on every route), and those of the
// routes in mask (bit i: rule i) that have no module, or all of theirs when
// module is "".
func (c *cache) invalidate(mask uint64, module string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen.Add(1) // under mu: a put that checked before it is dropped below
	for e := c.head; e != nil; {
		next := e.next
		onRoute := mask&(1<<uint(e.route)) != 0
		if module != "" && e.module == module || onRoute && (module == "" || e.module == "") {
			c.drop(e)
		}
		e = next
	}
}

// stats returns the entries, bytes and evictions.
func (c *cache) stats() (entries, bytes, evicted int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return int64(len(c.m)), c.bytes, c.evicted
}

func (c *cache) drop(e *entry) {
	c.unlink(e)
	delete(c.m, e.k)
	c.bytes -= e.size
}

func (c *cache) unlink(e *entry) {
	if e.prev == nil {
		c.head = e.next
	} else {
		e.prev.next = e.next
	}
	if e.next == nil {
		c.tail = e.prev
	} else {
		e.next.prev = e.prev
	}
	e.prev, e.next = nil, nil
}

func (c *cache) pushFront(e *entry) {
	e.next = c.head
	if c.head != nil {
		c.head.prev = e
	}
	c.head = e
	if c.tail == nil {
		c.tail = e
	}
}

// store keeps the snapshot of call c's answer if the server allows it.
func (s *saver) store(k key, c *call, cr *cacheRoute, snap *snapshot, gen uint64) {
	if snap.status != http.StatusOK || int64(len(snap.body)) > cr.maxBody || setsOwn(snap.header) {
		return
	}
	cc := parseCacheControl(snap.header)
	own := s.hasCredentials(c.req) // else the entry serves every caller, as a shared cache's
	if cc.noStore || cc.noCache || cc.private && !own || !s.varyKept(snap.header) {
		return
	}
	if !own && cc.sMaxAge >= 0 {
		cc.maxAge = cc.sMaxAge // RFC 9111, 5.2.2.10
	}
	ttl := cr.ttl
	if cc.maxAge >= 0 {
		// Fresh for max-age less the age it came with (RFC 9111, 4.2.3),
		// compared in seconds: a huge max-age overflows no Duration.
		if fresh := cc.maxAge - age(snap.header); fresh <= int64(ttl/time.Second) {
			ttl = min(ttl, time.Duration(fresh)*time.Second)
		}
	}
	if ttl <= 0 {
		return
	}
	now := c.t.clock.Now()
	e := &entry{k: k, route: cr.idx, module: moduleOf(c.req, &c.price), snap: snap,
		stored: now.UnixNano(), expires: now.Add(ttl).UnixNano(), size: snap.size() + int64(len(k))}
	s.cache.put(e, gen)
}

// hasCredentials reports whether r carries a header that says who calls: a
// credential header with a value that is not blank.
func (s *saver) hasCredentials(r *http.Request) bool {
	for name, vs := range r.Header {
		if s.credential(strings.ToLower(name)) && slices.ContainsFunc(vs, notBlank) {
			return true
		}
	}
	return false
}

func notBlank(v string) bool { return strings.TrimSpace(v) != "" }

// varyKept reports whether every header a response varies on is in the key.
func (s *saver) varyKept(h http.Header) bool {
	for _, v := range h["Vary"] {
		for _, name := range strings.Split(v, ",") {
			name = strings.ToLower(strings.TrimSpace(name))
			if name == "*" || name != "" && !s.keyHeader(name) {
				return false
			}
		}
	}
	return true
}

// age is a response's Age header in seconds: 0 if it has none, and a
// malformed one past max-age (RFC 9111, 5.1: a cache may treat it as
// stale).
func age(h http.Header) int64 {
	vs := h["Age"]
	if len(vs) == 0 {
		return 0
	}
	n, err := strconv.ParseInt(strings.TrimSpace(vs[0]), 10, 64)
	if err != nil || n < 0 {
		return math.MaxInt32
	}
	return min(n, math.MaxInt32)
}

// seconds is the least of a directive's argument and was (-1: none).
func seconds(arg string, was int64) int64 {
	n, err := strconv.ParseInt(strings.Trim(strings.TrimSpace(arg), `"`), 10, 64)
	if err != nil || n < 0 {
		n = 0 // malformed: treat as stale, as RFC 9111 says
	}
	if was < 0 || n < was {
		return n
	}
	return was
}

// cacheControl is what a Cache-Control field says to a cache.
type cacheControl struct {
	noStore, noCache, private bool
	maxAge                    int64 // seconds, -1 if not said
	sMaxAge                   int64 // likewise, for shared caches
}

func parseCacheControl(h http.Header) cacheControl {
	cc := cacheControl{maxAge: -1, sMaxAge: -1}
	for _, v := range h["Cache-Control"] {
		for _, d := range strings.Split(v, ",") {
			name, arg, _ := strings.Cut(strings.TrimSpace(d), "=")
			switch strings.ToLower(strings.TrimSpace(name)) {
			case "no-store":
				cc.noStore = true
			case "no-cache":
				cc.noCache = true
			case "private":
				cc.private = true
			case "max-age":
				cc.maxAge = seconds(arg, cc.maxAge)
			case "s-maxage":
				cc.sMaxAge = seconds(arg, cc.sMaxAge)
			}
		}
	}
	return cc
}

// invalidated is the module whose entries a write r (priced p) drops: its
// own, or "" (every entry of the routes written to) for a path that routers
// may read as another route.
func invalidated(r *http.Request, p *cost.Price) string {
	if p.Unclean {
		return "" // every entry of every route: the path may name another
	}
	return moduleOf(r, p)
}

// write sends a call that may change what a read of a cached or coalesced
// route answers (one to the paths of those routes or below; mask: the
// cached ones): it drops the cache entries it may change before it is sent
// (so that no reader gets them meanwhile) and again when it is answered (a
// read that overlapped it may have stored the old state), and each time
// counts a write, so that no read sent after it joins a call asked for
// before it was answered. A batched write does both again when its batch is
// answered, in case its callers left before.
func (s *saver) write(c *call, rr *routeRules, o callOpts, mask uint64) (*http.Response, error) {
	module := invalidated(c.req, &c.price)
	s.invalidate(mask, module)
	resp, err := s.send(c, rr, o)
	s.invalidate(mask, module)
	return resp, err
}

// invalidate counts a write (for flights), and drops the cache entries it
// may change (those of module, and of the cached routes in mask), which the
// cache counts on its own (for its puts: a write elsewhere changes no entry).
func (s *saver) invalidate(mask uint64, module string) {
	s.gen.Add(1)
	if s.cache != nil && mask != 0 {
		s.cache.invalidate(mask, module)
	}
}
