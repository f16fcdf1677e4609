package telegram

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/flarehq/flare/ops/config"
)

func TestSettingsLoad(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "flare.toml")
	os.WriteFile(file, []byte(`
[telegram]
token = "123:from-file"
wipe = false
receipt_ttl = "30s"
`), 0o600)
	cfg := DefaultConfig()
	env := []string{
		"FLARE_TELEGRAM_API_URL=http://127.0.0.1:8081",
		"FLARE_TELEGRAM_MODE=webhook",
		"FLARE_TELEGRAM_WEBHOOK_SECRET=0123456789abcdef_-",
		"FLARE_TELEGRAM_CODE_WORD=Zm9v",
	}
	if _, err := config.Load("gateway", cfg.Settings(), []string{"--config", file, "--telegram-draft-idle", "5m"}, env, io.Discard); err != nil {
		t.Fatal(err)
	}
	if cfg.Token != "123:from-file" || cfg.APIURL != "http://127.0.0.1:8081" || cfg.Mode != ModeWebhook ||
		cfg.WebhookSecret != "0123456789abcdef_-" || cfg.CodeWord != "Zm9v" || cfg.Wipe || cfg.ReceiptTTL != 30*time.Second || cfg.DraftIdle != 5*time.Minute {
		t.Errorf("loaded %+v", cfg)
	}
	if !cfg.Enabled() {
		t.Error("token set but not enabled")
	}
	if err := cfg.Validate(); err != nil {
		t.Error(err)
	}

	// The token from the environment alone turns the channel on.
	cfg = DefaultConfig()
	if _, err := config.Load("gateway", cfg.Settings(), nil, []string{"FLARE_TELEGRAM_TOKEN=1:env"}, io.Discard); err != nil {
		t.Fatal(err)
	}
	if cfg.Token != "1:env" || !cfg.Enabled() || !cfg.Wipe || cfg.Mode != ModePolling {
		t.Errorf("env token: %+v", cfg)
	}
	if DefaultConfig().Enabled() {
		t.Error("enabled without a token")
	}
}

func TestSecretsHaveNoFlag(t *testing.T) {
	cfg := DefaultConfig()
	want := map[string]string{
		"telegram.token":          "FLARE_TELEGRAM_TOKEN",
		"telegram.api_url":        "FLARE_TELEGRAM_API_URL",
		"telegram.mode":           "FLARE_TELEGRAM_MODE",
		"telegram.webhook_secret": "FLARE_TELEGRAM_WEBHOOK_SECRET",
	}
	for _, s := range cfg.Settings() {
		if env, ok := want[s.Key]; ok && s.Env != env {
			t.Errorf("%s: env %s, want %s", s.Key, s.Env, env)
		}
		delete(want, s.Key)
		if s.Secret && s.Flag != "" {
			t.Errorf("secret %s has flag --%s", s.Key, s.Flag)
		}
	}
	if len(want) != 0 {
		t.Errorf("settings missing: %v", want)
	}
	for _, flag := range []string{"--telegram-token", "--token", "--telegram-webhook-secret", "--telegram-code-word"} {
		c := DefaultConfig()
		if _, err := config.Load("gateway", c.Settings(), []string{flag, "1:x"}, nil, io.Discard); err == nil {
			t.Errorf("%s accepted on the command line", flag)
		}
	}
}

func TestValidate(t *testing.T) {
	ok := DefaultConfig()
	ok.Token = "123:abc"
	tests := []struct {
		name string
		edit func(*Config)
	}{
		{"no token", func(c *Config) { c.Token = "" }},
		{"token with slash", func(c *Config) { c.Token = "1:a/b" }},
		{"token with a control character", func(c *Config) { c.Token = "123:SECRETTOKENVALUE\x7f" }},
		{"token without bot id", func(c *Config) { c.Token = "SECRETTOKENVALUE" }},
		{"bad api url", func(c *Config) { c.APIURL = "ftp://x" }},
		{"api url with percent", func(c *Config) { c.APIURL = "https://x/%s" }},
		{"unknown mode", func(c *Config) { c.Mode = "push" }},
		{"webhook without secret", func(c *Config) { c.Mode = ModeWebhook }},
		{"webhook short secret", func(c *Config) { c.Mode = ModeWebhook; c.WebhookSecret = "short" }},
		{"webhook secret bad chars", func(c *Config) { c.Mode = ModeWebhook; c.WebhookSecret = "0123456789abcdef!!" }},
		{"webhook url not https", func(c *Config) {
			c.Mode = ModeWebhook
			c.WebhookSecret = "0123456789abcdef"
			c.WebhookURL = "http://x/webhooks/telegram"
		}},
		{"code word bad chars", func(c *Config) { c.CodeWord = "open sesame" }},
		{"code word too long", func(c *Config) { c.CodeWord = strings.Repeat("a", 65) }},
		{"zero idle", func(c *Config) { c.DraftIdle = 0 }},
		{"zero burst", func(c *Config) { c.RateBurst = 0 }},
	}
	if err := ok.Validate(); err != nil {
		t.Fatalf("default config with a token: %v", err)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := ok
			c.Token = "123:SECRETTOKENVALUE"
			tt.edit(&c)
			err := c.Validate()
			if !errors.Is(err, ErrConfig) {
				t.Fatalf("Validate = %v, want ErrConfig", err)
			}
			if strings.Contains(err.Error(), "SECRETTOKENVALUE") || (c.WebhookSecret != "" && strings.Contains(err.Error(), c.WebhookSecret)) {
				t.Errorf("error shows a secret: %v", err)
			}
		})
	}
}

// TestAPIErrorsHideToken: a request the library cannot even build comes
// back as a *url.Error quoting the URL, token and all; the api's errors
// carry "<token>" instead.
func TestAPIErrorsHideToken(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Token = "123:SECRETTOKENVALUE"
	cfg.APIURL = "http://127.0.0.1:1/\x7f" // unbuildable, so never sent
	a := newAPI(cfg, nil)
	_, err := a.getMe(context.Background())
	if err == nil {
		t.Fatal("getMe succeeded")
	}
	if strings.Contains(err.Error(), "SECRETTOKENVALUE") || !strings.Contains(err.Error(), "getMe") {
		t.Fatalf("error = %q: shows the token or lost its context", err)
	}
}
