package sms

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/flarehq/flare/crypto"
)

const webhookSecret = "generic-webhook-secret-for-tests"

func genericEnv(t *testing.T) *testEnv {
	t.Helper()
	cfg := DefaultConfig()
	cfg.WebhookSecret = webhookSecret
	return newTestEnv(t, cfg, newMemQueue())
}

// signGeneric signs as docs/sms-webhook.md says, written out here
// independently: hex(HMAC-SHA256(secret, body || timestamp)).
func signGeneric(body []byte, ts string) string {
	m := hmac.New(sha256.New, []byte(webhookSecret))
	m.Write(append(append([]byte(nil), body...), ts...))
	return hex.EncodeToString(m.Sum(nil))
}

func smsEvent(id, phone, text string) []byte {
	b, _ := json.Marshal(map[string]any{
		"deviceId": "ffffffffceb0b1db00000193991c27e5", "event": "sms:received", "id": id,
		"webhookId": "LreFUt-Z3sSq0JufY9uWB",
		"payload": map[string]any{
			"message": text, "receivedAt": "2026-03-14T07:29:55.000+07:00", "messageId": "69bde8d0",
			"phoneNumber": phone, "simNumber": 1,
		},
	})
	return b
}

func postGeneric(env *testEnv, body []byte, ts time.Time, sig func(body []byte, ts string) string) (int, string) {
	env.t.Helper()
	tss := strconv.FormatInt(ts.Unix(), 10)
	return env.do("POST", "/webhooks/sms", "application/json", body,
		map[string]string{"X-Timestamp": tss, "X-Signature": sig(body, tss)})
}

func TestGenericWebhook(t *testing.T) {
	env := genericEnv(t)
	body := smsEvent("-9qZ4oiiZZRm-h_A3mrp2", "+66812345678", "ช่วยด้วย ถูกขังอยู่")
	st, resp := postGeneric(env, body, time.Now(), signGeneric)
	if st != http.StatusOK || !strings.Contains(resp, `"queued"`) {
		t.Fatalf("status %d %q", st, resp)
	}
	tip := env.tips()[0]
	if tip.Sender.Phone != "+66812345678" || tip.Text != "ช่วยด้วย ถูกขังอยู่" || tip.Kind != crypto.KindDistress ||
		tip.Language != "th" || tip.Reply.Channel != "sms/webhook" {
		t.Fatalf("tip %+v", tip)
	}
	// A retry (same delivery id, newly signed) is answered 200, queued once.
	st, resp = postGeneric(env, body, time.Now(), signGeneric)
	if st != http.StatusOK || !strings.Contains(resp, `"duplicate"`) || env.queued() != 1 {
		t.Fatalf("retry: status %d %q, %d queued", st, resp, env.queued())
	}
	// Pings and other events are acknowledged and not queued.
	st, resp = postGeneric(env, []byte(`{"event":"system:ping","id":"p1","payload":{}}`), time.Now(), signGeneric)
	if st != http.StatusOK || !strings.Contains(resp, `"ignored"`) || env.queued() != 1 {
		t.Fatalf("ping: status %d %q, %d queued", st, resp, env.queued())
	}
}

func TestGenericRefused(t *testing.T) {
	good := smsEvent("e1", "+66812345678", "hello")
	cases := []struct {
		name    string
		ct      string
		body    []byte
		headers func(body []byte) map[string]string
		status  int
	}{
		{"unsigned", "application/json", good, func([]byte) map[string]string { return nil }, 401},
		{"no timestamp", "application/json", good, func(b []byte) map[string]string {
			return map[string]string{"X-Signature": signGeneric(b, "")}
		}, 401},
		{"bad signature", "application/json", good, func(b []byte) map[string]string {
			ts := strconv.FormatInt(time.Now().Unix(), 10)
			return map[string]string{"X-Timestamp": ts, "X-Signature": signGeneric(append(b, ' '), ts)}
		}, 403},
		{"timestamp changed", "application/json", good, func(b []byte) map[string]string {
			ts := strconv.FormatInt(time.Now().Unix(), 10)
			return map[string]string{"X-Timestamp": ts + "0", "X-Signature": signGeneric(b, ts)}
		}, 403},
		{"replayed", "application/json", good, func(b []byte) map[string]string {
			ts := strconv.FormatInt(time.Now().Add(-10*time.Minute).Unix(), 10)
			return map[string]string{"X-Timestamp": ts, "X-Signature": signGeneric(b, ts)}
		}, 409},
		{"from the future", "application/json", good, func(b []byte) map[string]string {
			ts := strconv.FormatInt(time.Now().Add(10*time.Minute).Unix(), 10)
			return map[string]string{"X-Timestamp": ts, "X-Signature": signGeneric(b, ts)}
		}, 409},
		{"oversized", "application/json", smsEvent("e2", "+66812345678", strings.Repeat("x", 70<<10)), signedNow, 413},
		{"malformed json", "application/json", []byte(`{"event":"sms:received","id":`), signedNow, 400},
		{"wrong types", "application/json", []byte(`{"event":"sms:received","id":"e3","payload":{"phoneNumber":5}}`), signedNow, 400},
		{"no sender", "application/json", smsEvent("e4", "", "hi"), signedNow, 400},
		{"no id", "application/json", smsEvent("", "+66812345678", "hi"), signedNow, 400},
		{"empty text", "application/json", smsEvent("e5", "+66812345678", "  "), signedNow, 400},
		{"invalid utf-8", "application/json", []byte("{\"event\":\"sms:received\",\"id\":\"e6\",\"payload\":{\"phoneNumber\":\"+1\",\"message\":\"\xff\"}}"), signedNow, 400},
		{"form body", "application/x-www-form-urlencoded", []byte("a=b"), signedNow, 415},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			env := genericEnv(t)
			st, resp := env.do("POST", "/webhooks/sms", c.ct, c.body, c.headers(c.body))
			if st != c.status || env.queued() != 0 {
				t.Fatalf("status %d (%q), %d queued; want %d, none", st, resp, env.queued(), c.status)
			}
		})
	}
}

func signedNow(b []byte) map[string]string {
	ts := strconv.FormatInt(time.Now().Unix(), 10)
	return map[string]string{"X-Timestamp": ts, "X-Signature": signGeneric(b, ts)}
}

func TestEndpointsOnlyWhenConfigured(t *testing.T) {
	cfg := DefaultConfig()
	cfg.WebhookSecret = webhookSecret
	env := newTestEnv(t, cfg, newMemQueue())
	for _, p := range []string{"/webhooks/twilio", "/webhooks/vonage"} {
		if st, _ := env.do("POST", p, "application/x-www-form-urlencoded", nil, nil); st != http.StatusNotFound {
			t.Errorf("%s: status %d, want 404 when not configured", p, st)
		}
	}
	if DefaultConfig().Enabled() {
		t.Error("default config is enabled")
	}
	for name, edit := range map[string]func(*Config){
		"twilio token without URL":   func(c *Config) { c.TwilioAuthToken = "x" },
		"twilio without SID":         func(c *Config) { c.TwilioAuthToken, c.TwilioPublicURL = "x", "https://a.example/w" },
		"twilio relative URL":        func(c *Config) { c.TwilioAuthToken, c.TwilioPublicURL, c.TwilioAccountSID = "x", "/w", "AC1" },
		"vonage without method":      func(c *Config) { c.VonageSignatureSecret = "x" },
		"vonage with unknown method": func(c *Config) { c.VonageSignatureSecret, c.VonageSignatureMethod = "x", "sha3" },
		"vonage method only":         func(c *Config) { c.VonageSignatureMethod = "md5hash" },
	} {
		c := DefaultConfig()
		edit(&c)
		if err := c.validate(); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

// TestGenericDocExample checks the worked example of docs/sms-webhook.md.
func TestGenericDocExample(t *testing.T) {
	body := []byte(`{"event":"sms:received","id":"Ey6ECgOkVVFjz3CL48B8C","payload":{"messageId":"abc123","message":"Android is always a sweet treat!","phoneNumber":"6505551212","simNumber":1,"receivedAt":"2024-06-22T15:46:11.000+07:00"}}`)
	const sig = "d3ae6d94a0470237efeddc2c67e3bdc8ebb06cdc400e39cf83033f767c475eae"
	doc, err := os.ReadFile("../../docs/sms-webhook.md")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(doc), string(body)) || !strings.Contains(string(doc), sig) {
		t.Fatal("docs/sms-webhook.md no longer shows this example")
	}
	if got := genericSignature("my-webhook-secret", body, "1719046000"); got != sig {
		t.Fatalf("signature %s, want %s", got, sig)
	}
	cfg := DefaultConfig()
	cfg.WebhookSecret = "my-webhook-secret"
	env := newTestEnv(t, cfg, newMemQueue())
	env.ch.now = func() time.Time { return time.Unix(1719046000, 0) }
	st, resp := env.do("POST", "/webhooks/sms", "application/json", body, map[string]string{"X-Timestamp": "1719046000", "X-Signature": strings.ToUpper(sig)})
	if st != http.StatusOK || env.queued() != 1 {
		t.Fatalf("status %d %q, %d queued", st, resp, env.queued())
	}
}
