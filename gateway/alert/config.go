package alert

import (
	"fmt"
	"strings"
	"time"

	"github.com/flarehq/flare/ops/config"
)

// Config is the alert settings. Every address and credential comes only
// from the config file or FLARE_ALERT_* variables, never from flags, which
// any user of the machine can read in ps: an ntfy topic URL or a staff
// chat id is as good as a password to whoever wants to watch for alerts.
type Config struct {
	Text     string
	Interval time.Duration

	NtfyURL, NtfyToken string

	SMTPURL, SMTPPassword string
	EmailTo               []string
	EmailFrom             string

	TelegramToken, TelegramChat, TelegramAPIURL string

	WebhookURL, WebhookSecret string
}

// DefaultConfig returns the defaults: the fixed text, an hour between
// coalesced alerts, no targets.
func DefaultConfig() Config {
	return Config{Text: DefaultText, Interval: time.Hour}
}

// Settings declares the alert settings.
func (c *Config) Settings() []config.Setting {
	return []config.Setting{
		{Key: "alert.text", Env: "FLARE_ALERT_TEXT", Flag: "alert-text", Help: "the alert's whole text; never say more than \"look\"", Value: config.String(&c.Text)},
		{Key: "alert.interval", Env: "FLARE_ALERT_INTERVAL", Flag: "alert-interval", Help: "at most one alert per this interval for tips that are not distress calls (those alert at once)", Value: config.Duration(&c.Interval)},
		{Key: "alert.ntfy_url", Env: "FLARE_ALERT_NTFY_URL", Secret: true, Help: "ntfy topic URL to publish alerts to (https://ntfy.example.org/TOPIC)", Value: config.String(&c.NtfyURL)},
		{Key: "alert.ntfy_token", Env: "FLARE_ALERT_NTFY_TOKEN", Secret: true, Help: "ntfy access token, if the topic is protected", Value: config.String(&c.NtfyToken)},
		{Key: "alert.smtp_url", Env: "FLARE_ALERT_SMTP_URL", Secret: true, Help: "mail submission server for email alerts: smtp://user@host:587 (STARTTLS required)", Value: config.String(&c.SMTPURL)},
		{Key: "alert.smtp_password", Env: "FLARE_ALERT_SMTP_PASSWORD", Secret: true, Help: "password for the mail server's user", Value: config.String(&c.SMTPPassword)},
		{Key: "alert.email_to", Env: "FLARE_ALERT_EMAIL_TO", Secret: true, Help: "addresses to email alerts to, comma-separated", Value: config.Strings(&c.EmailTo)},
		{Key: "alert.email_from", Env: "FLARE_ALERT_EMAIL_FROM", Secret: true, Help: "sender address of email alerts (default: the SMTP user)", Value: config.String(&c.EmailFrom)},
		{Key: "alert.telegram_token", Env: "FLARE_ALERT_TELEGRAM_TOKEN", Secret: true, Help: "token of a separate bot (not the intake bot) that posts alerts to the staff chat", Value: config.String(&c.TelegramToken)},
		{Key: "alert.telegram_chat", Env: "FLARE_ALERT_TELEGRAM_CHAT", Secret: true, Help: "staff chat id for Telegram alerts", Value: config.String(&c.TelegramChat)},
		{Key: "alert.telegram_api_url", Env: "FLARE_ALERT_TELEGRAM_API_URL", Secret: true, Help: "Bot API server for the alert bot (default https://api.telegram.org)", Value: config.String(&c.TelegramAPIURL)},
		{Key: "alert.webhook_url", Env: "FLARE_ALERT_WEBHOOK_URL", Secret: true, Help: "URL to POST signed alerts to (see docs/alerts.md)", Value: config.String(&c.WebhookURL)},
		{Key: "alert.webhook_secret", Env: "FLARE_ALERT_WEBHOOK_SECRET", Secret: true, Help: "HMAC-SHA256 secret for webhook alerts", Value: config.String(&c.WebhookSecret)},
	}
}

// Targets builds the configured targets, checking that each has what it
// needs.
func (c *Config) Targets() ([]Target, error) {
	var out []Target
	if c.Interval <= 0 {
		return nil, fmt.Errorf("alert interval must be positive")
	}
	if strings.ContainsAny(c.Text, "\r\n") || strings.TrimSpace(c.Text) == "" {
		return nil, fmt.Errorf("alert text must be one non-empty line")
	}
	if c.NtfyURL != "" {
		if !strings.HasPrefix(c.NtfyURL, "https://") && !strings.HasPrefix(c.NtfyURL, "http://") {
			return nil, fmt.Errorf("FLARE_ALERT_NTFY_URL: want an http(s) topic URL")
		}
		out = append(out, &Ntfy{URL: c.NtfyURL, Token: c.NtfyToken})
	}
	if c.SMTPURL != "" {
		if _, _, err := ParseSMTPURL(c.SMTPURL); err != nil {
			return nil, fmt.Errorf("FLARE_ALERT_SMTP_URL: %w", err)
		}
		var to []string
		for _, s := range c.EmailTo {
			for _, one := range strings.Split(s, ",") {
				if one = strings.TrimSpace(one); one != "" {
					to = append(to, one)
				}
			}
		}
		if len(to) == 0 {
			return nil, fmt.Errorf("FLARE_ALERT_SMTP_URL is set but FLARE_ALERT_EMAIL_TO is empty")
		}
		out = append(out, &SMTP{URL: c.SMTPURL, Password: c.SMTPPassword, From: c.EmailFrom, To: to})
	}
	if (c.TelegramToken == "") != (c.TelegramChat == "") {
		return nil, fmt.Errorf("Telegram alerts need both FLARE_ALERT_TELEGRAM_TOKEN and FLARE_ALERT_TELEGRAM_CHAT")
	}
	if c.TelegramToken != "" {
		out = append(out, &Telegram{APIURL: c.TelegramAPIURL, Token: c.TelegramToken, Chat: c.TelegramChat})
	}
	if (c.WebhookURL == "") != (c.WebhookSecret == "") {
		return nil, fmt.Errorf("webhook alerts need both FLARE_ALERT_WEBHOOK_URL and FLARE_ALERT_WEBHOOK_SECRET")
	}
	if c.WebhookURL != "" {
		out = append(out, &Webhook{URL: c.WebhookURL, Secret: c.WebhookSecret})
	}
	return out, nil
}
