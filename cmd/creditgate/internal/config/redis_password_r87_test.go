package config

import (
	"strings"
	"testing"
)

// ParseRedisURL's doc: "The error never repeats the URL's password." A
// password written with a slash (base64 secrets have them, and people paste
// them unescaped) ends url.Parse's authority early, so the regexp that finds
// the password (which stops at '/') finds none, and the error quotes the
// URL whole, password included; check prints it, serve logs it.
func TestRedisURLHidesPasswordWithSlash(t *testing.T) {
	for _, raw := range []string{
		"redis://default:Zm9v/YmFy+K2s=@10.0.0.5:6379/0",
		"rediss://:ab/cd@redis.internal:6380",
	} {
		for _, cluster := range []bool{false, true} {
			_, _, err := ParseRedisURL(raw, cluster)
			if err == nil {
				t.Errorf("%s (cluster %v): accepted", raw, cluster)
				continue
			}
			for _, secret := range []string{"Zm9v/YmFy+K2s=", "ab/cd", "YmFy+K2s", "/cd@"} {
				if strings.Contains(raw, secret) && strings.Contains(err.Error(), secret) {
					t.Errorf("%s (cluster %v): the error shows the password (%q): %v", raw, cluster, secret, err)
				}
			}
		}
	}
}
