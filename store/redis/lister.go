package redis

import (
	"context"
	"encoding/base64"
	"iter"
	"strings"

	goredis "github.com/redis/go-redis/v9"
)

// Tenants implements store.Lister: the tenants Redis holds under the
// store's prefix (every instance's), found with SCAN on every primary.
// Errors end the listing early.
func (s *Store) Tenants() iter.Seq[string] {
	return func(yield func(string) bool) {
		ctx, cancel := context.WithTimeout(context.Background(), 10*s.cfg.timeout)
		defer cancel()
		match := globEscape(s.cfg.prefix) + "{*}:w"
		var names []string
		scan := func(ctx context.Context, c *goredis.Client) error {
			var local []string
			it := c.Scan(ctx, 0, match, 1000).Iterator()
			for it.Next(ctx) {
				if name, ok := s.tenantOf(it.Val()); ok {
					local = append(local, name)
				}
			}
			s.mu.Lock() // cluster nodes are scanned concurrently
			names = append(names, local...)
			s.mu.Unlock()
			return it.Err()
		}
		switch c := s.c.(type) {
		case *goredis.ClusterClient:
			_ = c.ForEachMaster(ctx, scan)
		case *goredis.Client:
			_ = scan(ctx, c)
		}
		for _, n := range names {
			if !yield(n) {
				return
			}
		}
	}
}

// globEscape escapes the characters MATCH reads as a pattern (the prefix
// is any string): "cg[1]:" matched "cg1:", not itself.
func globEscape(s string) string {
	var b strings.Builder
	for _, r := range s {
		if strings.ContainsRune(`*?[]\^-`, r) {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}

// tenantOf decodes the tenant of a window key.
func (s *Store) tenantOf(key string) (string, bool) {
	rest, ok := strings.CutPrefix(key, s.cfg.prefix+"{")
	if !ok {
		return "", false
	}
	enc, ok := strings.CutSuffix(rest, "}:w")
	if !ok {
		return "", false
	}
	if enc == emptyTag {
		return "", true
	}
	b, err := base64.RawURLEncoding.DecodeString(enc)
	return string(b), err == nil
}
