package sms

import (
	"context"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"filippo.io/age"

	"github.com/flarehq/flare/crypto"
	"github.com/flarehq/flare/internal/sentinel"
	"github.com/flarehq/flare/internal/testredis"
	"github.com/flarehq/flare/queue"
	"github.com/flarehq/flare/queue/backend"
	"github.com/flarehq/flare/queue/embedded"
)

// TestReplyOnceAcrossGateways: an approved reply sealed to two gateways on
// one queue, both delivering at once, reaches the provider exactly once.
func TestReplyOnceAcrossGateways(t *testing.T) {
	ctx := context.Background()
	q := newMemQueue()
	one := newReplyEnv(t, q, nil)
	two := newReplyEnv(t, q, nil)
	if st, resp := postTwilio(one.testEnv, inboundSMS("SM4", "+85512345678", "SAFE")); st != http.StatusOK {
		t.Fatalf("inbound: %d %q", st, resp)
	}
	item := one.item()
	prop, err := one.replies.ProposeSMS(ctx, item, "sms", "received", "en", receivedEN, "alice")
	if err != nil {
		t.Fatal(err)
	}
	addr, _ := ReplyAddress(item.Tip.Reply)
	if _, err := one.replies.ApproveSMS(ctx, q, item, []age.Recipient{one.gwID.Recipient(), two.gwID.Recipient()}, prop.ID, addr, time.Time{}, "bob"); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for _, env := range []*replyEnv{one, two} {
		wg.Add(1)
		go func() { defer wg.Done(); env.ch.deliverDue(ctx) }()
	}
	wg.Wait()
	one.ch.deliverDue(ctx)
	two.ch.deliverDue(ctx)
	posts := 0
	for _, env := range []*replyEnv{one, two} {
		for _, c := range env.prov.taken() {
			if c.Method == "POST" {
				posts++
			}
		}
	}
	if posts != 1 {
		t.Fatalf("%d messages sent, want exactly 1", posts)
	}
}

// TestReplyAddress: a reply goes back through the provider that received
// the message; nothing else is addressable.
func TestReplyAddress(t *testing.T) {
	tests := []struct {
		channel, address, want string
	}{
		{"sms/twilio", "+85512345678", "twilio:+85512345678"},
		{"sms/vonage", "85512345678", "vonage:85512345678"},
		{"whatsapp/twilio", "whatsapp:+85512345678", "twilio:whatsapp:+85512345678"},
		{"sms/webhook", "+85512345678", ""},
		{"whatsapp/vonage", "whatsapp:+85512345678", ""},
		{"sms/twilio", "whatsapp:+85512345678", ""},
		{"whatsapp/twilio", "+85512345678", ""},
		{"telegram", "555", ""},
		{"sms/twilio", "", ""},
	}
	for _, tc := range tests {
		got, ok := ReplyAddress(&crypto.ReplyAddress{Channel: tc.channel, Address: tc.address})
		if got != tc.want || ok != (tc.want != "") {
			t.Errorf("%s %s: %q %v, want %q", tc.channel, tc.address, got, ok, tc.want)
		}
	}
	if _, ok := ReplyAddress(nil); ok {
		t.Error("a tip without a reply address is addressable")
	}
}

// TestOptInWord: only a message holding the configured word is marked as
// opted in, as a whole word; with no word configured nothing is.
func TestOptInWord(t *testing.T) {
	tests := []struct {
		word, text string
		want       bool
	}{
		{"SAFE", "safe to text after 9", true},
		{"SAFE", "they are not SAFE.", true},
		{"SAFE", "unsafe here", false},
		{"SAFE", "help", false},
		{"", "safe", false},
	}
	for i, tc := range tests {
		env := newReplyEnv(t, newMemQueue(), func(c *Config) { c.Replies.OptInWord = tc.word })
		if st, resp := postTwilio(env.testEnv, inboundSMS("SM5"+string(rune('a'+i)), "+85512345678", tc.text)); st != http.StatusOK {
			t.Fatalf("inbound: %d %q", st, resp)
		}
		if got := env.item().Tip.Fields["reply_ok"] == "yes"; got != tc.want {
			t.Errorf("word %q, text %q: opted in %v, want %v", tc.word, tc.text, got, tc.want)
		}
	}
}

// TestReplySentinel: after a reply is proposed, approved, sent and its
// record deleted, neither the source's number, nor their message, nor the
// reply is in the clear in the embedded store's directory, in Redis (keys
// and data directory), or in the logs.
func TestReplySentinel(t *testing.T) {
	const phone = "+85512300777"
	const text = "SENTINEL-REPLY-d41c passports gone SAFE"
	needles := []string{phone, strings.TrimPrefix(phone, "+"), "SENTINEL-REPLY-d41c", receivedEN, receivedKM, vonageSecret2, testToken}
	run := func(t *testing.T, q queue.Queue, scan func() []sentinel.Finding) {
		ctx := context.Background()
		env := newReplyEnv(t, q, nil)
		if st, resp := postTwilio(env.testEnv, inboundSMS("SM6", phone, text)); st != http.StatusOK {
			t.Fatalf("inbound: %d %q", st, resp)
		}
		if st, resp := sendVonage(env.testEnv, "json", vonagePart(env.ch.now(), "0B000009", strings.TrimPrefix(phone, "+"), "", 1, 1, text)); st != http.StatusNoContent {
			t.Fatalf("inbound: %d %q", st, resp)
		}
		env.approveReply(env.item(), "km")
		before := scan()
		env.ch.deliverDue(ctx)
		if calls := env.prov.taken(); len(calls) != 1 {
			t.Fatalf("provider saw %d requests", len(calls))
		}
		findings := append(before, scan()...)
		findings = append(findings, sentinel.Bytes([]byte(env.logs.String()), "logs", needles...)...)
		for _, f := range findings {
			t.Error(f)
		}
		if !strings.Contains(env.logs.String(), "sms reply sent") {
			t.Fatal("the logs captured nothing: the scan would prove nothing")
		}
	}
	t.Run("embedded", func(t *testing.T) {
		dir := t.TempDir()
		q, err := embedded.Open(context.Background(), filepath.Join(dir, "flare.db"), embedded.Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer q.Close()
		run(t, q, func() []sentinel.Finding {
			found, err := sentinel.Dir(dir, needles...)
			if err != nil {
				t.Fatal(err)
			}
			return found
		})
	})
	t.Run("redis", func(t *testing.T) {
		srv := testredis.Start(t)
		q, err := backend.Open(context.Background(), srv.URL())
		if err != nil {
			t.Fatal(err)
		}
		defer q.Close()
		run(t, q, func() []sentinel.Finding {
			found, err := sentinel.Redis(context.Background(), srv.Addr(), needles...)
			if err != nil {
				t.Fatal(err)
			}
			more, err := sentinel.Dir(srv.Dir(), needles...)
			if err != nil {
				t.Fatal(err)
			}
			return append(found, more...)
		})
	})
}

// TestReplyRetriedAfterOutage: a provider outage (503) leaves the reply in
// the outbox; it is not tried again at once, and is sent, once, later.
func TestReplyRetriedAfterOutage(t *testing.T) {
	ctx := context.Background()
	env := newReplyEnv(t, newMemQueue(), nil)
	if st, resp := postTwilio(env.testEnv, inboundSMS("SM7", "+85512345678", "SAFE")); st != http.StatusOK {
		t.Fatalf("inbound: %d %q", st, resp)
	}
	sent := env.approveReply(env.item(), "en")
	env.prov.failPost = http.StatusServiceUnavailable
	env.ch.deliverDue(ctx)
	if calls := env.prov.taken(); len(calls) != 1 {
		t.Fatalf("provider saw %d requests", len(calls))
	}
	if env.outboxLen() != 1 || env.state(sent) != "waiting" {
		t.Fatalf("after an outage: %d entries, state %q", env.outboxLen(), env.state(sent))
	}
	env.ch.deliverDue(ctx)
	if calls := env.prov.taken(); len(calls) != 0 {
		t.Fatalf("tried again at once: %+v", calls)
	}
	later := time.Now().Add(time.Hour)
	env.ch.now = func() time.Time { return later }
	env.ch.deliverDue(ctx)
	if calls := env.prov.taken(); len(calls) != 2 || calls[0].Method != "POST" {
		t.Fatalf("later the provider saw %+v", calls)
	}
	if env.state(sent) != "delivered" || len(env.ch.ob.retryAt) != 0 {
		t.Fatalf("state %q, back-off %v", env.state(sent), env.ch.ob.retryAt)
	}
}
