package sms

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/flarehq/flare/internal/sentinel"
	"github.com/flarehq/flare/internal/testredis"
	"github.com/flarehq/flare/queue"
	"github.com/flarehq/flare/queue/backend"
	"github.com/flarehq/flare/queue/embedded"
)

// TestSentinel sends a message carrying planted strings through every
// endpoint — including a refused and a retried one — and scans everything
// the queue holds and everything logged for them: on the embedded store,
// its data directory; on Redis, every key and the server's data directory
// (its append-only file); and the logs.
func TestSentinel(t *testing.T) {
	t.Run("embedded", func(t *testing.T) {
		dir := t.TempDir()
		q, err := embedded.Open(context.Background(), filepath.Join(dir, "flare.db"), embedded.Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer q.Close()
		runSentinel(t, q, func(needles []string) []sentinel.Finding {
			found, err := sentinel.Dir(dir, needles...)
			if err != nil {
				t.Fatal(err)
			}
			return found
		})
		if fi, err := os.Stat(filepath.Join(dir, "flare.db")); err != nil || fi.Size() < 4096 {
			t.Fatalf("store file: %v: the scan would prove nothing", err)
		}
	})
	t.Run("redis", func(t *testing.T) {
		srv := testredis.Start(t)
		q, err := backend.Open(context.Background(), srv.URL())
		if err != nil {
			t.Fatal(err)
		}
		defer q.Close()
		runSentinel(t, q, func(needles []string) []sentinel.Finding {
			found, err := sentinel.Redis(context.Background(), srv.Addr(), needles...)
			if err != nil {
				t.Fatal(err)
			}
			more, err := sentinel.Dir(srv.Dir(), needles...)
			if err != nil {
				t.Fatal(err)
			}
			if len(more) == 0 {
				if entries, _ := os.ReadDir(srv.Dir()); len(entries) == 0 {
					t.Fatal("redis data directory is empty: the scan would prove nothing")
				}
			}
			return append(found, more...)
		})
	})
}

func runSentinel(t *testing.T, q queue.Queue, scan func(needles []string) []sentinel.Finding) {
	const (
		phone      = "+85512300999"
		phoneBare  = "85512300999"
		text       = "SENTINEL-TEXT-4f9a2c remember the red gate"
		mediaBytes = "SENTINEL-MEDIA-b81d07"
		msgID      = "SMSENTINEL0000000000000000000042"
		profile    = "SentinelProfileName"
	)
	needles := []string{phone, phoneBare, text, "SENTINEL-TEXT-4f9a2c", mediaBytes, msgID, profile}
	mh := newMediaHost(t, map[string][]byte{"ME1": []byte(strings.Repeat(mediaBytes, 100))})

	cfg := DefaultConfig()
	cfg.TwilioAuthToken, cfg.TwilioPublicURL, cfg.TwilioAccountSID = testToken, testPublic, testSID
	cfg.TwilioMediaHosts = []string{mh.host()}
	cfg.VonageSignatureMethod, cfg.VonageSignatureSecret = "md5hash", vonageSecret
	cfg.WebhookSecret = webhookSecret
	env := newTestEnv(t, cfg, q)
	env.ch.media = newMediaFetcher(testSID, testToken, cfg.TwilioMediaHosts, cfg.TwilioMediaTimeout,
		env.ch.deps.Sink.Limits().MaxAttachmentBytes, mh.srv.Client().Transport)

	p := inboundSMS("MM1", "whatsapp:"+phone, text)
	p.Set("ProfileName", profile)
	p.Set("WaId", phoneBare)
	p.Set("NumMedia", "1")
	p.Set("MediaUrl0", mh.url("ME1"))
	p.Set("MediaContentType0", "image/jpeg")
	for range 2 {
		if st, resp := postTwilio(env, p); st != http.StatusOK {
			t.Fatalf("twilio: %d %q", st, resp)
		}
	}
	bad := inboundSMS(msgID, phone, text)
	if st, _ := env.do("POST", "/webhooks/twilio", "application/x-www-form-urlencoded", []byte(bad.Encode()),
		map[string]string{"X-Twilio-Signature": "AAAAAAAAAAAAAAAAAAAAAAAAAAA="}); st != http.StatusForbidden {
		t.Fatalf("forged twilio: %d", st)
	}
	if st, _ := postTwilio(env, inboundSMS(msgID, phone, text)); st != http.StatusOK {
		t.Fatalf("twilio sms: %d", st)
	}
	now := time.Now()
	for range 2 {
		if st, resp := sendVonage(env, "json", vonagePart(now, msgID, phoneBare, "9", 1, 2, text)); st != http.StatusNoContent {
			t.Fatalf("vonage: %d %q", st, resp)
		}
	}
	if st, resp := postGeneric(env, smsEvent(msgID, phone, text), now, signGeneric); st != http.StatusOK {
		t.Fatalf("generic: %d %q", st, resp)
	}
	if n := env.queued(); n != 4 {
		t.Fatalf("%d tips queued, want 4", n)
	}
	// The tips do hold the planted strings, sealed.
	tips := env.tips()
	for _, tip := range tips {
		if !strings.Contains(tip.Text, "SENTINEL-TEXT-4f9a2c") || !strings.Contains(tip.Sender.Phone, phoneBare) {
			t.Fatalf("a tip lacks the planted text or number: %q %q", tip.Text, tip.Sender.Phone)
		}
	}
	// Control: the scan does see the planted strings where they are.
	if len(sentinel.Bytes([]byte(p.Encode()), "control", phone, profile, text)) != 3 {
		t.Fatal("the scan misses strings in a request body: it would prove nothing")
	}
	findings := sentinel.Bytes([]byte(env.logs.String()), "logs", needles...)
	// While the queue is open, and after it is closed (an embedded store
	// checkpoints its WAL then).
	findings = append(findings, scan(needles)...)
	env.srv.Close()
	if err := q.Close(); err != nil {
		t.Fatal(err)
	}
	findings = append(findings, scan(needles)...)
	for _, f := range findings {
		t.Error(f)
	}
	// There is no line per queued message (it would date the tip); the
	// forged request's refusal shows the log was captured.
	if !strings.Contains(env.logs.String(), "webhook refused") {
		t.Fatal("logs captured nothing: the scan would prove nothing")
	}
}
