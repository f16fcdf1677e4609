package sms

import (
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/flarehq/flare/ops/config"
)

func TestSettingsFromEnvAndFile(t *testing.T) {
	env := []string{
		"FLARE_TWILIO_AUTH_TOKEN=tok", "FLARE_TWILIO_PUBLIC_URL=https://a.example/webhooks/twilio",
		"FLARE_TWILIO_ACCOUNT_SID=AC1", "FLARE_TWILIO_MEDIA_HOSTS=api.twilio.com, media.example:8443",
		"FLARE_VONAGE_SIGNATURE_SECRET=vsec", "FLARE_VONAGE_SIGNATURE_METHOD=sha512",
		"FLARE_SMS_WEBHOOK_SECRET=gsec",
	}
	cfg := DefaultConfig()
	if _, err := config.Load("gateway", cfg.Settings(), nil, env, io.Discard); err != nil {
		t.Fatal(err)
	}
	if cfg.TwilioAuthToken != "tok" || cfg.TwilioPublicURL != "https://a.example/webhooks/twilio" || cfg.TwilioAccountSID != "AC1" ||
		len(cfg.TwilioMediaHosts) != 2 || cfg.TwilioMediaHosts[1] != "media.example:8443" ||
		cfg.VonageSignatureSecret != "vsec" || cfg.VonageSignatureMethod != "sha512" || cfg.WebhookSecret != "gsec" {
		t.Fatalf("from env: %+v", cfg)
	}
	if err := cfg.validate(); err != nil || !cfg.Enabled() {
		t.Fatalf("valid config refused: %v", err)
	}

	file := filepath.Join(t.TempDir(), "flare.toml")
	os.WriteFile(file, []byte(`
[sms]
webhook_secret = "g2"
max_age = "2m"
distress_keywords = ["MAYDAY", "ជួយ"]
[sms.twilio]
auth_token = "t2"
public_url = "https://b.example/t"
account_sid = "AC2"
reply = true
[sms.vonage]
signature_secret = "v2"
signature_method = "md5hash"
`), 0o600)
	cfg = DefaultConfig()
	if _, err := config.Load("gateway", cfg.Settings(), []string{"--config", file}, nil, io.Discard); err != nil {
		t.Fatal(err)
	}
	if cfg.TwilioAuthToken != "t2" || !cfg.TwilioReply || cfg.VonageSignatureMethod != "md5hash" || cfg.WebhookSecret != "g2" ||
		cfg.MaxAge != 2*time.Minute || len(cfg.DistressKeywords) != 2 {
		t.Fatalf("from file: %+v", cfg)
	}
	for _, s := range cfg.Settings() {
		if s.Secret && s.Flag != "" {
			t.Errorf("secret %s has a flag", s.Key)
		}
	}
}
