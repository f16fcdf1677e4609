package telegram

import (
	"bytes"
	"crypto/rand"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/flarehq/flare/channels/telegram/telegramtest"
)

const testSecret = "s3cret_token-for-TESTS-0123456789"

func webhookHarness(t *testing.T, o harnessOpts) *harness {
	t.Helper()
	inner := o.cfg
	o.cfg = func(c *Config) {
		c.Mode = ModeWebhook
		c.WebhookSecret = testSecret
		c.WebhookURL = "https://tips.example.org/webhooks/telegram"
		if inner != nil {
			inner(c)
		}
	}
	return newHarness(t, o)
}

func TestWebhookRegistersSecretToken(t *testing.T) {
	h := webhookHarness(t, harnessOpts{})
	hook, secret := h.srv.Webhook()
	if hook != "https://tips.example.org/webhooks/telegram" || secret != testSecret {
		t.Errorf("setWebhook got url %q secret %q", hook, secret)
	}
	if n := len(h.srv.Calls("getUpdates")); n != 0 {
		t.Errorf("webhook mode polled %d times", n)
	}
}

func TestWebhookSecret(t *testing.T) {
	h := webhookHarness(t, harnessOpts{})
	start := h.srv.Text(alice, "/start")
	tests := []struct {
		name   string
		secret string
		want   int
	}{
		{"missing", "", http.StatusUnauthorized},
		{"wrong", "s3cret_token-for-TESTS-0123456788", http.StatusUnauthorized},
		{"prefix", testSecret[:10], http.StatusUnauthorized},
		{"longer", testSecret + "x", http.StatusUnauthorized},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := h.post(start.JSON, tt.secret); got != tt.want {
				t.Errorf("status %d, want %d", got, tt.want)
			}
		})
	}
	// A full conversation with a wrong secret queues nothing.
	for _, u := range []telegramtest.Update{h.srv.Text(alice, "words"), h.srv.Text(alice, "/send")} {
		if got := h.post(u.JSON, "wrong"); got != http.StatusUnauthorized {
			t.Errorf("status %d", got)
		}
	}
	time.Sleep(50 * time.Millisecond)
	if n := len(h.srv.Calls("sendMessage")); n != 0 {
		t.Errorf("bot answered %d times to refused requests", n)
	}
	if n := len(h.q.tips()); n != 0 {
		t.Errorf("%d tips queued from refused requests", n)
	}
	if strings.Contains(h.logs.String(), "words") {
		t.Error("refused request's content in the logs")
	}
	// The right secret works.
	if got := h.post(start.JSON, testSecret); got != http.StatusOK {
		t.Fatalf("status %d with the right secret", got)
	}
	waitFor(t, "answer", func() bool { return len(h.srv.Calls("sendMessage")) == 1 })
}

func TestWebhookBadRequests(t *testing.T) {
	h := webhookHarness(t, harnessOpts{})
	big := append([]byte(`{"update_id":1,"message":{"text":"`), bytes.Repeat([]byte("a"), maxUpdateBytes)...)
	big = append(big, `"}}`...)
	tests := []struct {
		name   string
		method string
		body   []byte
		want   int
	}{
		{"get", http.MethodGet, nil, http.StatusMethodNotAllowed},
		{"too large", http.MethodPost, big, http.StatusRequestEntityTooLarge},
		{"not json", http.MethodPost, []byte("SENTINEL-GARBAGE <html>"), http.StatusBadRequest},
		{"no update_id", http.MethodPost, []byte(`{"message":{"text":"SENTINEL-GARBAGE"}}`), http.StatusBadRequest},
		{"wrong types", http.MethodPost, []byte(`{"update_id":77,"message":{"message_id":"x","text":"SENTINEL-GARBAGE"}}`), http.StatusOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest(tt.method, h.hook.URL+WebhookPath, bytes.NewReader(tt.body))
			req.Header.Set(SecretHeader, testSecret)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tt.want {
				t.Errorf("status %d, want %d", resp.StatusCode, tt.want)
			}
		})
	}
	if strings.Contains(h.logs.String(), "SENTINEL-GARBAGE") {
		t.Errorf("malformed update content in logs:\n%s", h.logs.String())
	}
	if !strings.Contains(h.logs.String(), "telegram update skipped") {
		t.Error("skipped update not logged")
	}
	if n := len(h.q.tips()); n != 0 {
		t.Errorf("%d tips queued", n)
	}
}

func TestWebhookOffInPollingMode(t *testing.T) {
	h := newHarness(t, harnessOpts{noRun: true})
	mux := http.NewServeMux()
	h.ch.Routes(mux)
	req, _ := http.NewRequest(http.MethodPost, WebhookPath, strings.NewReader("{}"))
	rec := &recorder{header: http.Header{}}
	mux.ServeHTTP(rec, req)
	if rec.status != http.StatusNotFound {
		t.Errorf("status %d in polling mode, want 404", rec.status)
	}
}

type recorder struct {
	header http.Header
	status int
}

func (r *recorder) Header() http.Header         { return r.header }
func (r *recorder) Write(p []byte) (int, error) { return len(p), nil }
func (r *recorder) WriteHeader(s int)           { r.status = s }

// Every example update from Telegram's docs and aiogram is accepted or
// skipped without a crash; the malformed ones are skipped.
func TestWebhookExampleUpdates(t *testing.T) {
	h := webhookHarness(t, harnessOpts{})
	for i, v := range telegramtest.Vectors() {
		// Each gets its own update_id, or all but the first would be
		// duplicates.
		body := bytes.Replace(v.Update, []byte(`"update_id"`), []byte(fmt.Sprintf(`"update_id":%d,"x"`, 900+i)), 1)
		if got := h.post(body, testSecret); got != http.StatusOK {
			t.Errorf("%s: status %d", v.ID, got)
		}
	}
	if !strings.Contains(h.logs.String(), "telegram update skipped") {
		t.Error("the inline_query example with a numeric id was not skipped")
	}
	time.Sleep(100 * time.Millisecond)
	if n := len(h.q.tips()); n != 0 {
		t.Errorf("%d tips queued without /send", n)
	}
}

func TestDuplicateUpdateHandledOnce(t *testing.T) {
	h := webhookHarness(t, harnessOpts{})
	start := h.srv.Text(alice, "/start")
	for i := 0; i < 3; i++ {
		if got := h.post(start.JSON, testSecret); got != http.StatusOK {
			t.Fatalf("status %d", got)
		}
	}
	waitFor(t, "answer", func() bool { return len(h.srv.Calls("sendMessage")) >= 1 })
	text := h.srv.Text(alice, "once")
	h.post(text.JSON, testSecret)
	h.post(text.JSON, testSecret)
	waitFor(t, "panel", func() bool { return len(h.srv.Calls("sendMessage")) >= 2 })
	h.deliver(h.srv.Text(alice, "/send"), "sendMessage", 1)
	waitFor(t, "tip", func() bool { return len(h.q.tips()) == 1 })
	if n := len(h.srv.Calls("sendMessage")); n != 3 { // keyboard, panel, receipt
		t.Errorf("%d sendMessage calls, want 3", n)
	}
	if tip := h.tips()[0]; tip.Text != "once" {
		t.Errorf("text %q, want the duplicate once", tip.Text)
	}
	for _, k := range h.q.markerKeys() {
		if strings.Contains(k, fmt.Sprint(start.ID)) {
			t.Errorf("marker key %q holds the raw update id", k)
		}
	}
}

// Telegram may retry an update to another gateway instance: the shared
// marker in the queue makes the second instance skip it.
func TestDuplicateUpdateAcrossInstances(t *testing.T) {
	key := make([]byte, 32)
	rand.Read(key)
	a := webhookHarness(t, harnessOpts{hasherKey: key})
	b := webhookHarness(t, harnessOpts{hasherKey: key, srv: a.srv, q: a.q})
	start := a.srv.Text(alice, "/start")
	if got := a.post(start.JSON, testSecret); got != http.StatusOK {
		t.Fatal(got)
	}
	if got := b.post(start.JSON, testSecret); got != http.StatusOK {
		t.Fatal(got)
	}
	waitFor(t, "answer", func() bool { return len(a.srv.Calls("sendMessage")) >= 1 })
	time.Sleep(100 * time.Millisecond)
	if n := len(a.srv.Calls("sendMessage")); n != 1 {
		t.Errorf("%d answers to one update sent to two instances, want 1", n)
	}
}

// When the shared marker store is down, an update is handled rather than
// lost.
func TestMarkerStoreDownStillHandles(t *testing.T) {
	h := webhookHarness(t, harnessOpts{})
	h.q.failRemember(func(string) error { return fmt.Errorf("connection refused") })
	h.deliver(h.srv.Text(alice, "/start"), "sendMessage", 1)
}
