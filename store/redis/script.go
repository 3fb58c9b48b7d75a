package redis

import (
	"context"
	"crypto/sha1"
	_ "embed"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	goredis "github.com/redis/go-redis/v9"
)

//go:embed lua/lib.lua
var libLua string

//go:embed lua/ops.lua
var opsLua string

// script is the one Lua script of the store: lib.lua then ops.lua.
var script = libLua + "\n" + opsLua

var scriptSHA = func() string {
	h := sha1.Sum([]byte(script))
	return hex.EncodeToString(h[:])
}()

// Reply statuses (lib.lua's OK, PLAN, PERIODS).
const (
	statusOK      = 0
	statusPlan    = 1
	statusPeriods = 2
)

// ErrUnavailable is wrapped by the errors of calls that could not reach
// Redis (or that the open circuit breaker did not let through).
var ErrUnavailable = errors.New("redis: store unavailable")

// errOpen is wrapped by the errors of calls the open circuit breaker did
// not send.
var errOpen = errors.New("circuit open")

// ErrReply is wrapped when the script's reply cannot be read: a store
// from another version of this package shares the prefix.
var ErrReply = errors.New("redis: unexpected script reply")

// eval runs the script once: EVALSHA, and EVAL (which loads it again)
// only when Redis answers NOSCRIPT (after a restart or SCRIPT FLUSH).
// Queued releases (pre) go ahead of it in the same pipeline.
func (s *Store) eval(ctx context.Context, keys []string, args []any, pre []rel) ([]any, error) {
	s.stats.roundTrips.Add(1)
	var v any
	var err error
	if len(pre) == 0 {
		v, err = s.c.EvalSha(ctx, scriptSHA, keys, args...).Result()
	} else {
		var cmd *goredis.Cmd
		_, err = s.c.Pipelined(ctx, func(p goredis.Pipeliner) error {
			zrems(ctx, p, pre)
			cmd = p.EvalSha(ctx, scriptSHA, keys, args...)
			return nil
		})
		if cmd != nil {
			v, err = cmd.Result()
		}
	}
	if err != nil && isNoScript(err) {
		s.stats.reloads.Add(1)
		s.stats.roundTrips.Add(1)
		v, err = s.c.Eval(ctx, script, keys, args...).Result()
	}
	if err != nil {
		return nil, err
	}
	a, ok := v.([]any)
	if !ok || len(a) == 0 {
		return nil, fmt.Errorf("%w: %v", ErrReply, v)
	}
	return a, nil
}

func isNoScript(err error) bool {
	return strings.HasPrefix(err.Error(), "NOSCRIPT")
}

// ambiguous reports an error after which the script may or may not have
// run: the connection failed or timed out before the reply. A Redis error
// reply is not ambiguous: the command was refused.
func ambiguous(err error) bool {
	var re goredis.Error
	if errors.As(err, &re) {
		return false
	}
	return !errors.Is(err, context.Canceled)
}

// call runs the script through the circuit breaker within the store's
// timeout, replaying it (same keys, same step id) after ambiguous errors:
// a step that did run returns its recorded result, so nothing counts
// twice. An error wraps ErrUnavailable.
// replayAt, if not negative, is the index of the argument that tells a
// step it is sent again (see op_take).
func (s *Store) call(keys []string, args []any, pre []rel, replayAt int) ([]any, error) {
	probe, ok := s.brk.allow(time.Now())
	if !ok {
		return nil, fmt.Errorf("%w: %w", ErrUnavailable, errOpen)
	}
	ctx, cancel := context.WithTimeout(context.Background(), s.cfg.timeout)
	defer cancel()
	var err error
	for try := 0; ; try++ {
		var v []any
		send := func() (err error) {
			v, err = s.eval(ctx, keys, args, pre)
			return err
		}
		if err = whileMoving(ctx, send(), send); err == nil { // refused on the move: not run, no replay
			s.brk.done(true, probe, time.Now())
			return v, nil
		}
		if !ambiguous(err) || ctx.Err() != nil || try >= 2 {
			break
		}
		s.stats.replays.Add(1)
		if replayAt >= 0 {
			args[replayAt] = "1"
		}
	}
	s.stats.errors.Add(1)
	s.brk.done(false, probe, time.Now())
	return nil, fmt.Errorf("%w: %w", ErrUnavailable, err)
}

// movingDelay is the wait before a step refused by a slot on the move
// is sent again.
const movingDelay = 2 * time.Millisecond

// moving reports a step refused, not run, because its cluster slot is
// being migrated (TRYAGAIN: its keys are on both nodes for a moment; ASK
// or MOVED: the client's redirects ran out): it is sent again within the
// call's deadline, not counted as Redis failing.
func moving(err error) bool {
	var re goredis.Error
	if !errors.As(err, &re) {
		return false
	}
	m := err.Error()
	return strings.HasPrefix(m, "TRYAGAIN") || strings.HasPrefix(m, "ASK ") || strings.HasPrefix(m, "MOVED ")
}

// whileMoving sends again, movingDelay apart, while err (the last send's)
// says the slot is on the move and ctx has not ended; it returns the last
// error, still moving if ctx ended first.
func whileMoving(ctx context.Context, err error, send func() error) error {
	for err != nil && moving(err) && wait(ctx, movingDelay) {
		err = send()
	}
	return err
}

// wait waits d, false if ctx ends first.
func wait(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// reply is an OK reply read into numbers.
type reply struct {
	reason, cost, remaining, used, reset, retry, u, extra int64
	stored                                                int64 // 1: Redis holds a SetPlan plan for the tenant
	epoch                                                 int64 // the windows' epoch (see lib.lua); 0 in a record from before it
	marked                                                int64 // an admitted take's: 1 if its slot may not be kept as a spare (see L.marked)
}

func readReply(v []any) (reply, error) {
	var r reply
	if len(v) < 10 {
		return r, fmt.Errorf("%w: %v", ErrReply, v)
	}
	dst := []*int64{&r.reason, &r.cost, &r.remaining, &r.used, &r.reset, &r.retry, &r.u, &r.extra, &r.stored}
	for i, p := range dst {
		n, ok := v[i+1].(int64)
		if !ok {
			return r, fmt.Errorf("%w: %v", ErrReply, v)
		}
		*p = n
	}
	if len(v) > 10 {
		r.epoch, _ = v[10].(int64)
	}
	if len(v) > 11 {
		r.marked, _ = v[11].(int64)
	}
	return r, nil
}

func status(v []any) int64 {
	n, _ := v[0].(int64)
	return n
}
