package config

import (
	"fmt"
	"regexp"
	"strings"
	"time"

	goredis "github.com/redis/go-redis/v9"
)

// FailureModes are the values of redis.failure.
var FailureModes = []string{"fail-closed", "fail-open", "degraded"}

// redis checks the redis section; without a URL the rest is not used and
// not checked, so that a file may keep its Redis settings while a flag or
// variable turns Redis off.
func (b *builder) redis() {
	r := b.c.Redis
	if r.URL == "" {
		return
	}
	if _, _, err := ParseRedisURL(r.URL, r.Cluster); err != nil {
		b.fail("redis.url", "%v", err)
	}
	if r.Prefix == "" || len(r.Prefix) > 256 || strings.ContainsAny(r.Prefix, "{}") {
		b.fail("redis.prefix", "want 1 to 256 bytes without braces (the store's hash tags use them), got %q", r.Prefix)
	}
	if r.Timeout <= 0 || r.Timeout > time.Minute {
		b.fail("redis.timeout", "want more than 0 and at most 1m, got %v", r.Timeout)
	}
	known := false
	for _, m := range FailureModes {
		known = known || r.Failure == m
	}
	if !known {
		b.fail("redis.failure", "want %s, got %q", strings.Join(FailureModes, ", "), r.Failure)
	}
	b.between("redis.instances", int64(r.Instances), 1, 10_000)
	if r.CreditLeasing < 0 {
		b.fail("redis.credit_leasing", "want 0 (off) or a number of credits, got %d", r.CreditLeasing)
	}
}

// userinfo finds the password of a URL, even one that does not parse.
var userinfo = regexp.MustCompile(`^[^:/]*://[^/@]*?:([^/]*)@`)

// ParseRedisURL reads a redis.url: one server (redis://, rediss://,
// unix://; single is set), or with cluster the nodes of a Redis Cluster
// (redis:// or rediss://, more nodes as ?addr=host:port; nodes is set).
// The error never repeats the URL's password.
func ParseRedisURL(raw string, cluster bool) (single *goredis.Options, nodes *goredis.ClusterOptions, err error) {
	if cluster {
		nodes, err = goredis.ParseClusterURL(raw)
	} else {
		single, err = goredis.ParseURL(raw)
	}
	if err == nil {
		return single, nodes, nil
	}
	msg := err.Error()
	// Not url.Parse: the URLs whose errors quote them are those it refuses.
	// A password may hold what ends the authority for url.Parse ('/', '?',
	// '#'), and the error then quotes it, or its head as a "port": the
	// message is that of the URL with everything up to its last '@' after
	// the scheme replaced.
	if red := redactUserinfo(raw); red != raw {
		if cluster {
			_, err = goredis.ParseClusterURL(red)
		} else {
			_, err = goredis.ParseURL(red)
		}
		if err != nil {
			msg = err.Error()
		} else {
			msg = "the user or password does not parse (percent-encode any / ? # @ : in them)"
		}
	} else if m := userinfo.FindStringSubmatch(raw); m != nil && m[1] != "" {
		msg = strings.ReplaceAll(msg, m[1], "xxxxx")
	}
	return nil, nil, fmt.Errorf("want redis://[user:password@]host:port[/db], rediss://... or unix:///path: %s", msg)
}

// redactUserinfo replaces what stands between a URL's "://" and its last '@'
// (the user and password, and whatever they hold) with xxxxx; a URL without
// both is returned as it is.
func redactUserinfo(raw string) string {
	i := strings.Index(raw, "://")
	if i < 0 {
		return raw
	}
	rest := raw[i+3:]
	at := strings.LastIndex(rest, "@")
	if at < 0 {
		return raw
	}
	return raw[:i+3] + "xxxxx" + rest[at:]
}
