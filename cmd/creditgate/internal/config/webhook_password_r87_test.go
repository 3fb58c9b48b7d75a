package config

import (
	"strings"
	"testing"
)

// The Redis URL's errors never repeat its password; the webhook URL's
// quoted it whole ("want an http:// or https:// URL, got ...").
func TestWebhookURLErrorHidesPassword(t *testing.T) {
	for _, u := range []string{"ftp://hook:s3cr3t@hooks.example.com/in", "https://hook:s3/cr3t@hooks.example.com:x/in"} {
		_, err := Build(mustParse(t, "c.yaml", "alerts:\n  webhook: {url: '"+u+"'}\n"))
		if err == nil || !strings.Contains(err.Error(), "alerts.webhook.url") {
			t.Fatalf("%s: Build = %v", u, err)
		}
		if strings.Contains(err.Error(), "s3cr3t") || strings.Contains(err.Error(), "cr3t") {
			t.Errorf("the error shows the webhook's password: %v", err)
		}
	}
}
