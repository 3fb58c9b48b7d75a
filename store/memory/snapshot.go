package memory

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"iter"
	"math"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/creditgate/creditgate/store"
	"github.com/creditgate/creditgate/window"
)

// ErrSnapshotTenants is returned (wrapped) when a snapshot's tenants do not
// fit in the store's bytes (WithMaxBytes) even folded: restoring only some
// would hand the others fresh pools, so none is restored. Also for a
// snapshot longer, or of more tenants, than RestoreAt reads for the store's
// bounds: whether corrupt or from a bigger store, it does not fit this one.
var ErrSnapshotTenants = errors.New("memory: snapshot holds more tenants than the store may")

// SnapshotVersionError is returned by RestoreAt for a snapshot written in a
// format version this code does not read.
type SnapshotVersionError struct{ Version int }

func (e *SnapshotVersionError) Error() string {
	return fmt.Sprintf("memory: snapshot version %d not supported (want %d)", e.Version, snapshotVersion)
}

const (
	snapshotFormat  = "creditgate-limiter-snapshot"
	snapshotVersion = 3 // the newest read; written only when a key needs it, else 2
)

// The snapshot is JSON: for each tenant with credits out, when (absolute Unix
// ns) how many credits come back to its pool. That is a window's state up
// to slot granularity and does not depend on its slot layout. Version 2,
// the one written, adds the pool's length and kind, and every extra
// window's length, kind and returns, also of one with nothing out (as a
// folded tenant's record): a restore under another plan then carries the
// spends as a live plan change does, which takes a window's spends from
// an empty one too (see pick). Version 3 adds tenant_bytes, a key that
// is not UTF-8 (as base64: a JSON string would turn its bytes into U+FFFD);
// it is written only for a snapshot holding such a key, so that others stay
// readable by code that reads version 2. Version 1 is still read.
type snapshot struct {
	Format  string           `json:"format"`
	Version int              `json:"version"`
	Taken   int64            `json:"taken"`
	Tenants []snapshotTenant `json:"tenants"`
}

type snapshotTenant struct {
	Tenant string `json:"tenant"` // "" if TenantBytes is set
	// Version 3: the key, if it is not UTF-8.
	TenantBytes []byte          `json:"tenant_bytes,omitempty"`
	Returns     []snapshotSpend `json:"returns"` // the pool's
	// Version 2: the pool's window (ns; a calendar's
	// period) and whether it is a calendar window.
	Window   int64            `json:"window,omitempty"`
	Calendar bool             `json:"calendar,omitempty"`
	Extra    []snapshotWindow `json:"extra,omitempty"`
}

// snapshotWindow is an extra window's spending (version 2).
type snapshotWindow struct {
	Window   int64           `json:"window"`
	Calendar bool            `json:"calendar,omitempty"`
	Returns  []snapshotSpend `json:"returns"`
}

type snapshotSpend struct {
	At      int64 `json:"at"` // Unix ns at which Credits come back
	Credits int64 `json:"credits"`
}

// SnapshotAt implements store.Snapshotter: for every tenant with credits
// spent at now, when the spent credits of its pool and of its extra
// windows come back (versioned JSON). In-flight slots are not saved: they
// do not survive the process.
func (s *Store) SnapshotAt(now time.Time, w io.Writer) error {
	// now as the windows read it (window.UnixNano, as carryInto): past
	// 2262 the credits still out are due at the last instant a Unix ns
	// holds, before now itself, and before 1678 now.UnixNano() wraps.
	read := windowsNow(now)
	snap := snapshot{Format: snapshotFormat, Version: 2, Taken: read.UnixNano()}
	out := func(returns iter.Seq2[time.Time, int64]) []snapshotSpend {
		var ret []snapshotSpend
		for at, n := range returns {
			if at.After(read) {
				ret = append(ret, snapshotSpend{At: at.UnixNano(), Credits: n})
			}
		}
		return ret
	}
	add := func(key string, srcs []source) {
		st := snapshotTenant{Tenant: key, Returns: out(srcs[0].returns)}
		if !utf8.ValidString(key) {
			st.Tenant, st.TenantBytes = "", []byte(key)
		}
		spent := len(st.Returns) > 0
		for _, x := range srcs[1:] {
			ret := out(x.returns)
			spent = spent || len(ret) > 0
			st.Extra = append(st.Extra, snapshotWindow{Window: int64(x.length), Calendar: !x.rolls, Returns: ret})
		}
		if !spent {
			return
		}
		st.Window, st.Calendar = int64(srcs[0].length), !srcs[0].rolls
		if st.TenantBytes != nil {
			snap.Version = 3
		}
		snap.Tenants = append(snap.Tenants, st)
	}
	var folded []string // a shard's folded keys and records, in pairs
	for i := range s.shards {
		sh := &s.shards[i]
		// The table and the folded records under one hold of mu: a sweep
		// or a creation in between would move a tenant from one to the
		// other, and the snapshot would list it twice or not at all.
		sh.mu.Lock()
		active := sh.tenants()
		folded = folded[:0]
		for key, rec := range sh.folded {
			folded = append(folded, key, rec)
		}
		sh.mu.Unlock()
		for _, t := range active {
			add(t.key, sourcesOf(now, t.wins.Load()))
		}
		for j := 0; j < len(folded); j += 2 {
			if srcs := foldSources(folded[j+1], time.UTC); len(srcs) > 0 {
				add(folded[j], srcs)
			}
		}
	}
	slices.SortFunc(snap.Tenants, func(a, b snapshotTenant) int { return strings.Compare(a.key(), b.key()) })
	return json.NewEncoder(w).Encode(&snap)
}

// RestoreAt implements store.Snapshotter, for a store meant to be fresh (call
// it before serving): each tenant of the snapshot that the store does not
// hold yet and has credits still out at now is created with its plan and
// charged them, so they come back when they would have. Tenants already present are
// left alone. Those that do not fit in the store's bounds as active tenants
// are restored folded, as the store keeps idle ones (see Store). A corrupt,
// truncated or foreign snapshot (or one followed by anything but white
// space) gives an error wrapping store.ErrSnapshotCorrupt, another version a
// *SnapshotVersionError, tenants that do not fit in WithMaxBytes even folded
// ErrSnapshotTenants; in each case nothing is changed. A now before the
// snapshot was taken (the restoring clock behind the snapshotting one) is
// taken as the snapshot's time: charged at the earlier now, a spend would
// come back early (a calendar's whole pool at the earlier period's end).
// A snapshot taken more than its longest window ahead of now (the longest
// its tenants name; for a version 1 entry, its plan's) is corrupt: its
// tenants would stay charged until then.
//
// The snapshot is read one tenant at a time (each tenant's entry whole),
// and what is kept of it stays within the bytes free and one record. Of
// one tenant's entry (or one header field, or the space before either)
// RestoreAt reads at most what the longest a tenant of this store may have
// takes (a key of MaxKeyBytes, MaxWindows windows with a return in each
// slot: under 7 MiB at the default slots), and a longer key or more
// windows are refused. Of the snapshot it reads at most 20 bytes per byte
// of WithMaxBytes, plus 64 KiB, and at most one tenant per 48 bytes of
// WithMaxBytes (a folded record's least cost) and one more (a store lets a
// tenant in while its bytes are below the bound, so its own records may
// pass it by one, whichever it is, as a restore allows). Past any of these bounds it
// stops reading and returns ErrSnapshotTenants. A store's own snapshot
// stays within them: it lists only tenants with credits
// out, in under 20 bytes of JSON per byte the store counts for them (about
// 10 for tenants that spent in every slot of millisecond slots).
// The fields format, version and taken must come before the tenants, as
// SnapshotAt writes them.
func (s *Store) RestoreAt(now time.Time, r io.Reader, plans store.PlanFunc) error {
	limit := s.maxSnapshot()
	lr := &io.LimitedReader{R: r, N: limit + 1}
	sr := &stepReader{r: lr}
	p := &planner{s: s, now: now, plans: plans, room: s.maxBytes - s.bytes.Load(), seen: map[string]bool{},
		sr: sr, dec: json.NewDecoder(sr), maxStep: s.maxEntry()}
	err := p.read()
	if lr.N == 0 { // past the bound, whatever error the cut gave
		return fmt.Errorf("%w: a snapshot longer than the %d bytes this store reads (%d per byte of WithMaxBytes, and 64 KiB)", ErrSnapshotTenants, limit, snapshotBytesPerByte)
	}
	if sr.long { // likewise
		return fmt.Errorf("%w: a tenant's entry (or a field, or space) longer than the %d bytes this store reads of one (see MaxKeyBytes, MaxWindows)", ErrSnapshotTenants, p.maxStep)
	}
	if err != nil {
		return err
	}
	if err := p.checkAhead(); err != nil {
		return err
	}
	p.pick()
	for i := range p.rs {
		s.restore(p.now, &p.rs[i], plans)
	}
	return nil
}

const (
	// snapshotBytesPerByte bounds how long a snapshot RestoreAt reads, per
	// byte of WithMaxBytes. A store's own snapshot is longest per byte held
	// for folded tenants with many returns: a return costs its record a
	// varint delta from the one before (at least a byte; 3 for slots of a
	// millisecond) and a varint of credits (a byte up to 127), and its JSON
	// {"at":<19 digits>,"credits":<n>} and a comma, 39 bytes for n < 10:
	// under 20 bytes of JSON per byte held (9.6 measured with millisecond
	// slots; 5.5 with 5-minute ones). JSON escapes a control byte of a key
	// in 6, and a window with nothing out takes under 10 times its record's
	// 3 to 11 bytes.
	snapshotBytesPerByte = 20
	snapshotSlack        = 64 << 10 // the header, and a store nearly empty
)

// maxSnapshot is the longest snapshot RestoreAt reads.
func (s *Store) maxSnapshot() int64 {
	if s.maxBytes > (math.MaxInt64-snapshotSlack-1)/snapshotBytesPerByte {
		return math.MaxInt64 - 1
	}
	return snapshotBytesPerByte*s.maxBytes + snapshotSlack
}

// planner reads a snapshot and plans its restore (see planRestore), one
// tenant at a time, changing nothing.
type planner struct {
	s      *Store
	now    time.Time // the restore's, or the snapshot's if later
	plans  store.PlanFunc
	snap   snapshot // the header; Tenants unused
	header bool     // the tenants have begun: the header is checked
	seen   map[string]bool
	// ahead is how far the snapshot was taken ahead of the restore's now
	// (0: not), longest the longest window its tenants name (see
	// checkAhead).
	ahead, longest time.Duration
	room           int64 // the bytes free when the restore began
	// The bytes of the tenants so far: all active; all folded; the
	// largest folded.
	active, folded, largest int64
	rs                      []restoring // those that change the store
	// The snapshot, read through sr a step at a time (see step).
	dec     *json.Decoder
	sr      *stepReader
	maxStep int64
}

// step lets dec read at most maxStep bytes more than it has used: one
// tenant's entry, or one header field, and the space and comma before it.
func (p *planner) step() { p.sr.stop = p.dec.InputOffset() + p.maxStep }

// read reads the snapshot from dec, to its end.
func (p *planner) read() error {
	dec := p.dec
	dec.DisallowUnknownFields()
	p.step()
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return corrupt(err, "not a JSON object")
	}
	tenants := false
	for p.step(); dec.More(); p.step() {
		tok, err := dec.Token()
		if err != nil {
			return corrupt(err, "")
		}
		key, _ := tok.(string)
		var field any
		switch {
		case strings.EqualFold(key, "tenants") && !tenants:
			tenants = true
			if err := p.tenants(); err != nil {
				return err
			}
			continue
		case tenants: // as encoding/json matches names, below
			return corrupt(nil, fmt.Sprintf("field %q after the tenants", key))
		case strings.EqualFold(key, "format"):
			field = &p.snap.Format
		case strings.EqualFold(key, "version"):
			field = &p.snap.Version
		case strings.EqualFold(key, "taken"):
			field = &p.snap.Taken
		default:
			return corrupt(nil, fmt.Sprintf("unknown field %q", key))
		}
		if err := dec.Decode(field); err != nil {
			return corrupt(err, "")
		}
	}
	if _, err := dec.Token(); err != nil { // the closing brace
		return corrupt(err, "")
	}
	if _, err := dec.Token(); err != io.EOF { // a second value, or the start of one
		return corrupt(nil, "data after the snapshot")
	}
	return p.checkHeader()
}

// corrupt wraps store.ErrSnapshotCorrupt with err, or with what.
func corrupt(err error, what string) error {
	if err != nil {
		return fmt.Errorf("%w: %v", store.ErrSnapshotCorrupt, err)
	}
	return fmt.Errorf("%w: %s", store.ErrSnapshotCorrupt, what)
}

// checkHeader checks the format and version, once, and takes now as the
// snapshot's time if that is later.
func (p *planner) checkHeader() error {
	if p.header {
		return nil
	}
	p.header = true
	if p.snap.Format != snapshotFormat {
		return corrupt(nil, fmt.Sprintf("format %q", p.snap.Format))
	}
	if p.snap.Version < 1 || p.snap.Version > snapshotVersion {
		return &SnapshotVersionError{Version: p.snap.Version}
	}
	if taken := time.Unix(0, p.snap.Taken).In(p.now.Location()); taken.After(windowsNow(p.now)) {
		p.ahead = taken.Sub(p.now) // saturates
		p.now = taken              // the windows count a later take at their newest slot or period: conservative
	}
	return nil
}

// checkAhead refuses a snapshot taken more than its longest window ahead of
// the restore's now: restored as of its taken time, its tenants would stay
// charged, and could not be folded, until then, and no clock that a
// restore should trust is so far behind the one that took it. A snapshot
// whose tenants name no window (it has none) charges nothing.
func (p *planner) checkAhead() error {
	if p.longest > 0 && p.ahead > p.longest {
		return corrupt(nil, fmt.Sprintf("taken %v ahead of now, more than its longest window (%v)", p.ahead, p.longest))
	}
	return nil
}

// tenants reads the tenants' array (or null), planning each as it comes.
func (p *planner) tenants() error {
	if err := p.checkHeader(); err != nil {
		return err
	}
	dec := p.dec
	p.step()
	tok, err := dec.Token()
	if err != nil {
		return corrupt(err, "")
	}
	if tok == nil {
		return nil
	}
	if tok != json.Delim('[') {
		return corrupt(nil, "tenants not an array")
	}
	for p.step(); dec.More(); p.step() {
		var st snapshotTenant
		if err := dec.Decode(&st); err != nil {
			return corrupt(err, "")
		}
		if err := p.add(st); err != nil {
			return err
		}
	}
	if _, err := dec.Token(); err != nil { // the closing bracket
		return corrupt(err, "")
	}
	return nil
}

// add checks st and plans its restore.
func (p *planner) add(st snapshotTenant) error {
	if st.TenantBytes != nil {
		// One spelling for each key, so that a repeated one is seen.
		if p.snap.Version < 3 || st.Tenant != "" || utf8.Valid(st.TenantBytes) {
			return corrupt(nil, fmt.Sprintf("tenant_bytes %q beside tenant %q, in version %d", st.TenantBytes, st.Tenant, p.snap.Version))
		}
		st.Tenant = string(st.TenantBytes)
	}
	if p.seen[st.Tenant] { // "" is the default tenant (no identity): a tenant like any other
		return corrupt(nil, fmt.Sprintf("repeated tenant %q", st.Tenant))
	}
	// One more than fit at 48 bytes each: the store lets a tenant in while
	// its bytes are below the bound (see plan).
	if int64(len(p.seen)) > p.s.maxBytes/foldBytes {
		return fmt.Errorf("%w: more than the %d tenants this store reads (one per %d bytes of WithMaxBytes)", ErrSnapshotTenants, len(p.seen), foldBytes)
	}
	p.seen[st.Tenant] = true
	if len(st.Tenant) > MaxKeyBytes || len(st.Extra) >= MaxWindows {
		return fmt.Errorf("%w: a tenant of %d bytes with %d windows (at most MaxKeyBytes, %d, and MaxWindows, %d)",
			ErrSnapshotTenants, len(st.Tenant), 1+len(st.Extra), MaxKeyBytes, MaxWindows)
	}
	if err := checkTenant(p.snap.Version, st); err != nil {
		return fmt.Errorf("%w: tenant %q: %v", store.ErrSnapshotCorrupt, st.Tenant, err)
	}
	p.longest = max(p.longest, time.Duration(st.Window)) // version 1: 0, see plan
	for _, x := range st.Extra {
		p.longest = max(p.longest, time.Duration(x.Window))
	}
	return p.plan(st)
}

// key is t's key.
func (t *snapshotTenant) key() string {
	if t.TenantBytes != nil {
		return string(t.TenantBytes)
	}
	return t.Tenant
}

// checkTenant reports what is wrong with a tenant's entry: a bad return, or
// version 2's fields in part, in version 1, or with a bad window length.
func checkTenant(version int, t snapshotTenant) error {
	if version < 2 || t.Window == 0 && len(t.Extra) == 0 && !t.Calendar {
		// Version 1, or a version 2 entry without lengths, as written
		// before version 2 said every pool's (read as version 1's).
		if len(t.Extra) > 0 || t.Window != 0 || t.Calendar {
			return errors.New("version 2's windows in version 1")
		}
		return checkReturns(t.Returns)
	}
	for i, x := range append([]snapshotWindow{{Window: t.Window, Returns: t.Returns}}, t.Extra...) {
		if x.Window <= 0 || x.Window > int64(window.MaxLength) {
			return fmt.Errorf("window %d: length %d", i, x.Window)
		}
		if err := checkReturns(x.Returns); err != nil {
			return fmt.Errorf("window %d: %w", i, err)
		}
	}
	return nil
}

// checkReturns reports the first bad entry of a window's returns.
func checkReturns(ret []snapshotSpend) error {
	for i, sp := range ret {
		if sp.Credits <= 0 || sp.Credits > window.MaxLimit || (i > 0 && sp.At <= ret[i-1].At) {
			return fmt.Errorf("bad entry %d", i)
		}
	}
	return nil
}

// restoring is a tenant of a snapshot that RestoreAt adds: built and
// charged (t), or folded into rec (t nil).
type restoring struct {
	key  string
	gen  uint64  // s.plans when plans was asked for t's plan (see replan)
	t    *tenant // nil: restored folded
	rec  string  // t's record (credits are out)
	cost int64   // t's bytes
}

// recCost is what r costs folded.
func (r *restoring) recCost() int64 { return recordCost(r.key, r.rec) }

// plan builds st's tenant unless the store holds it, restored active if
// all the tenants so far fit in the bytes free active, else folded (pick
// then chooses those restored active). It fails if the records alone do
// not fit, allowing one of them past the bytes free as the store lets a
// tenant in. What it keeps stays within the bytes free and one record,
// however large the snapshot: a tenant built past them is kept folded
// only, and one with nothing out not at all.
func (p *planner) plan(st snapshotTenant) error {
	s := p.s
	if s.holds(st.Tenant) {
		return nil
	}
	r := restoring{key: st.Tenant, gen: s.plans.Load()}
	pl := p.plans(st.Tenant)
	if st.Window == 0 && pl != nil { // version 1: the windows charged are the plan's
		p.longest = max(p.longest, pl.WindowLength())
		for _, x := range pl.Extra {
			p.longest = max(p.longest, x.Window)
		}
	}
	t, err := s.charged(p.now, st, pl)
	if err != nil {
		return nil // as create: a plan that builds no window serves no one
	}
	if r.rec, _ = encodeFold(p.now, t.wins.Load()); r.rec == "" {
		// Nothing out at now: a new tenant is the same. Made active, it
		// would take room, and, with now moved to a snapshot taken ahead,
		// could not be folded or evicted until then.
		return nil
	}
	r.cost = int64(t.cost)
	if p.active += r.cost; p.active <= p.room {
		r.t = t
	}
	// The store lets a new tenant in while its bytes are below the bound,
	// so its own records may pass the bytes free by the last one let in,
	// which may come anywhere in the snapshot (it lists tenants by key):
	// refused once the records but the largest fill them. That sum only
	// grows, so no later record could make it fit again.
	c := r.recCost()
	if p.folded+c-max(p.largest, c) >= p.room {
		return fmt.Errorf("%w: more than the %d bytes free (of %d) even folded", ErrSnapshotTenants, p.room, s.maxBytes)
	}
	p.folded, p.largest = p.folded+c, max(p.largest, c)
	p.rs = append(p.rs, r)
	return nil
}

// pick picks the tenants restored active: all of them if they fit in the
// store's bounds, else, in the snapshot's order, as many as fit beside the
// others' records.
func (p *planner) pick() {
	s := p.s
	free, n := p.room-p.folded, s.maxTenants-s.count.Load()
	for i := range p.rs {
		r := &p.rs[i]
		if extra := r.cost - r.recCost(); r.t == nil || extra > free || (s.maxTenants > 0 && n <= 0) {
			r.t = nil
		} else {
			free -= extra
			n--
		}
	}
}

// charged builds st's tenant with plan p, charged with st's spends still
// out at now.
func (s *Store) charged(now time.Time, st snapshotTenant, p *store.Plan) (*tenant, error) {
	_, h := s.shardOf(st.Tenant)
	t, err := s.newTenant(st.Tenant, h, p)
	if err != nil {
		return nil, err
	}
	restoreWindows(now, st, t.wins.Load()) // t is not yet published
	// Charged under MaxLimit, its rolling windows may have made ring tiers
	// its plan's limit would not (see RingBytes): count them.
	t.cost = tenantCost(t)
	t.lastUsed.Store(window.UnixNano(now)) // as admissions write it
	return t, nil
}

// restore adds r, unless the store holds its tenant by now.
func (s *Store) restore(now time.Time, r *restoring, plans store.PlanFunc) {
	sh, h := s.shardOf(r.key)
	sh.mu.Lock()
	if _, folded := sh.folded[r.key]; folded || sh.get(h, r.key) != nil {
		sh.mu.Unlock()
		return
	}
	if r.t == nil {
		if sh.folded == nil {
			sh.folded = map[string]string{}
		}
		sh.folded[r.key] = r.rec
		sh.mu.Unlock()
		s.folded.Add(1)
		s.bytes.Add(r.recCost())
		return
	}
	sh.insertLocked(r.t)
	sh.mu.Unlock()
	s.count.Add(1)
	s.bytes.Add(r.cost)
	s.replan(now, r.t, r.key, plans, r.gen)
}

// restoreWindows charges w with st's spends, as a plan change carries them
// (see carryFrom): spends above a limit stay spent, and a rolling window
// takes each spend at the end of the slot it was spent in, so that it comes
// back when it would have. A window takes the spends of the saved window
// carryFrom picks, as a live plan change does: one of its length and kind
// if there is one. A version 1
// entry holds the pool's spends only, without its length: they are taken as
// of the pool's current length, and the extra windows start empty.
func restoreWindows(now time.Time, st snapshotTenant, w *windows) {
	seq := func(ret []snapshotSpend) iter.Seq2[time.Time, int64] {
		return func(yield func(time.Time, int64) bool) {
			for _, sp := range ret {
				if !yield(time.Unix(0, sp.At), sp.Credits) {
					return
				}
			}
		}
	}
	if st.Window == 0 { // version 1
		pool := w.pool()
		_, length, rolls := schedule(pool, now)
		carryInto(now, source{seq(st.Returns), length, rolls}, pool)
		return
	}
	srcs := []source{{seq(st.Returns), time.Duration(st.Window), !st.Calendar}}
	for _, x := range st.Extra {
		srcs = append(srcs, source{seq(x.Returns), time.Duration(x.Window), !x.Calendar})
	}
	carryFrom(now, srcs, w)
}

// holds reports whether the store holds tenant, active or folded.
func (s *Store) holds(tenant string) bool {
	sh, h := s.shardOf(tenant)
	if sh.get(h, tenant) != nil {
		return true
	}
	sh.mu.Lock()
	defer sh.mu.Unlock()
	_, ok := sh.folded[tenant]
	return ok || sh.get(h, tenant) != nil
}

// Tenants implements store.Lister: the keys of the tenants held, active
// then folded, shard by shard, in no order.
func (s *Store) Tenants() iter.Seq[string] {
	return func(yield func(string) bool) {
		for i := range s.shards {
			sh := &s.shards[i]
			keys := make([]string, 0, 8)
			sh.mu.Lock() // both under one hold: see SnapshotAt
			for _, t := range sh.tenants() {
				keys = append(keys, t.key)
			}
			for k := range sh.folded {
				keys = append(keys, k)
			}
			sh.mu.Unlock()
			for _, k := range keys {
				if !yield(k) {
					return
				}
			}
		}
	}
}
