package config

import (
	"fmt"
	"strings"
	"time"
)

// Setting is one field that the environment and a flag may set over the file:
// a flag -Flag, an environment variable Env. Flags win over the environment,
// which wins over the file.
type Setting struct {
	Flag  string
	Env   string
	Path  string // the field, as in the file
	Usage string
	set   func(c *Config, v string) error
}

// Settings are the fields flags and the environment override.
var Settings = []Setting{
	{"listen", "CREDITGATE_LISTEN", "listen", "address the proxy listens on",
		func(c *Config, v string) error { c.Listen = v; return nil }},
	{"upstream", "CREDITGATE_UPSTREAM", "upstream", "URL requests are proxied to",
		func(c *Config, v string) error { c.Upstream = v; return nil }},
	{"redis-url", "CREDITGATE_REDIS_URL", "redis.url", "Redis URL: pools and caps shared by every gateway on it",
		func(c *Config, v string) error { c.Redis.URL = v; return nil }},
	{"snapshot", "CREDITGATE_SNAPSHOT", "snapshot.file", "file the credit state is saved to and restored from",
		func(c *Config, v string) error { c.Snapshot.File = v; return nil }},
	{"snapshot-interval", "CREDITGATE_SNAPSHOT_INTERVAL", "snapshot.interval", "how often the snapshot is saved",
		durationSetter(func(c *Config) *time.Duration { return &c.Snapshot.Interval })},
	{"dashboard", "CREDITGATE_DASHBOARD", "dashboard.address", `dashboard and metrics address ("off" disables them)`,
		func(c *Config, v string) error {
			c.Dashboard.Enabled = v != "off"
			if c.Dashboard.Enabled {
				c.Dashboard.Address = v
			}
			return nil
		}},
	{"dashboard-token", "CREDITGATE_DASHBOARD_TOKEN", "dashboard.token", "token the dashboard and metrics require (prefer the environment: flags show in ps)",
		func(c *Config, v string) error { c.Dashboard.Token = v; return nil }},
	{"webhook", "CREDITGATE_WEBHOOK_URL", "alerts.webhook.url", "URL alert crossings are POSTed to",
		func(c *Config, v string) error { c.Alerts.Webhook.URL = v; return nil }},
	{"log-level", "CREDITGATE_LOG_LEVEL", "log.level", "debug, info, warn or error",
		func(c *Config, v string) error { c.Log.Level = v; return nil }},
	{"log-format", "CREDITGATE_LOG_FORMAT", "log.format", "text or json",
		func(c *Config, v string) error { c.Log.Format = v; return nil }},
}

func durationSetter(f func(*Config) *time.Duration) func(*Config, string) error {
	return func(c *Config, v string) error {
		d, err := parseDuration(v)
		if err != nil {
			return err
		}
		*f(c) = d
		return nil
	}
}

// Set sets the field of the setting named by its flag name, recording pos as
// where it came from.
func (c *Config) Set(flag, value string, pos Pos) error {
	for _, s := range Settings {
		if s.Flag == flag {
			if err := s.set(c, value); err != nil {
				return &Error{Pos: pos, Field: s.Path, Msg: err.Error()}
			}
			c.mark(s.Path, pos)
			return nil
		}
	}
	return fmt.Errorf("config: no setting %q", flag)
}

// ApplyEnv sets every setting whose environment variable is set and not
// empty.
func (c *Config) ApplyEnv(getenv func(string) string) error {
	var errs Errors
	for _, s := range Settings {
		v := strings.TrimSpace(getenv(s.Env))
		if v == "" {
			continue
		}
		if err := c.Set(s.Flag, v, Pos{Source: "env " + s.Env}); err != nil {
			errs = append(errs, err.(*Error))
		}
	}
	return errs.err()
}
