package main

import (
	"context"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"filippo.io/age"

	"github.com/flarehq/flare/channels/telegram/telegramtest"
	"github.com/flarehq/flare/crypto"
	"github.com/flarehq/flare/gateway"
	"github.com/flarehq/flare/queue"
	"github.com/flarehq/flare/queue/backend"
)

// TestConsoleReplyTelegramCheckIn: a source files a tip through the bot; a
// key-holder answers with "flare console reply"; the bot writes nothing
// until the source sends the check-in word, then shows the reply with
// protect_content and deletes it after FLARE_TELEGRAM_REPLY_TTL; "flare
// console replies" says delivered, and the source's answer is a tip in
// the same case. Without gateway recipients, or with --now on a tip that
// did not say it is safe, the console refuses and queues nothing.
func TestConsoleReplyTelegramCheckIn(t *testing.T) {
	bot := telegramtest.NewServer(t)
	identity, recipient := keyholder(t, false)
	dataDir := t.TempDir()
	queueURL := "file:" + filepath.Join(dataDir, "flare.db")
	env := []string{"FLARE_TELEGRAM_TOKEN=" + telegramtest.Token, "FLARE_TELEGRAM_API_URL=" + bot.URL, "FLARE_TELEGRAM_REPLY_TTL=1s"}
	g := startGateway(t, env, "--recipient", recipient, "--queue", queueURL, "--data-dir", dataDir)

	src := telegramtest.User{ID: 777000222, FirstName: "Dara"}
	bot.Push(bot.Text(src, "/start"))
	bot.Push(bot.Text(src, "they took our passports"))
	bot.Push(bot.Text(src, "/send"))
	id := waitTipIDs(t, identity, queueURL, 1)[0]
	sendsBefore := len(bot.Calls("sendMessage"))

	kh := []string{"--identity", identity, "--queue", queueURL, "--recipient", recipient}
	// Refusals first: nothing may be queued by them.
	if code, _, stderr := runApp(t, nil, append([]string{"console", "reply", id, "--text", "which building?"}, kh...)...); code == 0 || !strings.Contains(stderr, "--gateway-recipient") {
		t.Fatalf("reply without gateway recipients: exit %d, stderr %q", code, stderr)
	}
	gw := strings.TrimSpace(runFlare(t, "gateway", "outbound-recipient", "--data-dir", dataDir))
	if code, _, stderr := runApp(t, nil, append([]string{"console", "reply", id, "--text", "which building?", "--gateway-recipient", gw, "--now"}, kh...)...); code == 0 || !strings.Contains(stderr, "safe") {
		t.Fatalf("--now on a tip that did not say it is safe: exit %d, stderr %q", code, stderr)
	}
	if out := runFlare(t, append([]string{"console", "replies", id}, kh...)...); !strings.Contains(out, "No replies yet") {
		t.Fatalf("a refused reply was recorded:\n%s", out)
	}

	out := runFlare(t, append([]string{"console", "reply", id, "--text", "REPLY-E2E which building?", "--gateway-recipient", gw}, kh...)...)
	if !strings.Contains(out, "checks in") {
		t.Fatalf("reply output: %q", out)
	}
	if out := runFlare(t, append([]string{"console", "replies", id}, kh...)...); !strings.Contains(out, "waiting for check-in") {
		t.Fatalf("replies before the check-in:\n%s", out)
	}
	time.Sleep(1500 * time.Millisecond) // outbox scans may run; nothing is sent
	if n := len(bot.Calls("sendMessage")); n != sendsBefore {
		t.Fatalf("the bot wrote %d messages before the check-in", n-sendsBefore)
	}

	bot.Push(bot.Text(src, "fertilizer"))
	var replyMsg int
	waitUntil(t, g, "protected reply", func() bool {
		for _, c := range bot.Calls("sendMessage") {
			if c.Params.Get("protect_content") == "true" && c.Params.Get("text") == "REPLY-E2E which building?" {
				return true
			}
		}
		return false
	})
	for _, m := range bot.Messages(src.ID) {
		if m.Text == "REPLY-E2E which building?" {
			replyMsg = m.ID
		}
	}
	waitUntil(t, g, "delivered", func() bool {
		return strings.Contains(runFlare(t, append([]string{"console", "replies", id}, kh...)...), "delivered")
	})

	bot.Push(bot.Text(src, "building C, third floor"))
	answer := ""
	for _, x := range waitTipIDs(t, identity, queueURL, 2) {
		if x != id {
			answer = x
		}
	}
	show := runFlare(t, "console", "show", answer, "--identity", identity, "--queue", queueURL)
	if !strings.Contains(show, "building C, third floor") || !strings.Contains(show, "case = "+id) {
		t.Fatalf("the answer is not in the reply's case (%s):\n%s", id, show)
	}
	waitUntil(t, g, "reply deleted", func() bool {
		for _, c := range bot.Calls("deleteMessage") {
			if c.Params.Get("message_id") == strconv.Itoa(replyMsg) {
				return true
			}
		}
		return false
	})
	for _, s := range []string{"REPLY-E2E", "777000222", "building C"} {
		if strings.Contains(string(g.logs.Bytes()), s) {
			t.Errorf("the gateway logged %q", s)
		}
	}
}

// waitTipIDs waits until the console lists n tips and returns their ids.
func waitTipIDs(t *testing.T, identity, queueURL string, n int) []string {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		list := runFlare(t, "console", "list", "--identity", identity, "--queue", queueURL)
		lines := strings.Split(strings.TrimSpace(list), "\n")
		if len(lines) >= n+1 {
			ids := make([]string, 0, len(lines)-1)
			for _, l := range lines[1:] {
				ids = append(ids, strings.Fields(l)[0])
			}
			return ids
		}
		if time.Now().After(deadline) {
			t.Fatalf("fewer than %d tips listed:\n%s", n, list)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func waitUntil(t *testing.T, g *gatewayProc, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s; logs:\n%s", what, g.logs.Bytes())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestConsoleReplyTelegramNow: --now is taken only for a tip whose source
// said it is safe to be messaged (Fields["contact.safe"] = "yes"); the
// entry, opened with the gateway's identity, then says "now", carries the
// chat and the case, and expires as --expires says. Everything refused
// leaves the outbox empty.
func TestConsoleReplyTelegramNow(t *testing.T) {
	var safe, unsafe, web string
	telegramTip := func(in *gateway.Intake, chat string, fields map[string]string) string {
		d := in.NewDraft("telegram")
		d.Tip().Text = "help"
		d.Tip().Fields = fields
		d.Tip().Reply = &crypto.ReplyAddress{Channel: "telegram", Address: chat}
		rc, err := d.Submit(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		return rc.QueueID
	}
	queueURL, kh := seedQueue(t, func(q queue.Queue, in *gateway.Intake, s *crypto.Sealer) {
		safe = telegramTip(in, "4242001", map[string]string{"contact.safe": "yes"})
		unsafe = telegramTip(in, "4242002", nil)
		web = submitTip(t, in, "web tip", nil)
	})
	gwID, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	base := []string{"--identity", kh.File, "--queue", queueURL, "--gateway-recipient", gwID.Recipient().String()}
	outbox := func() []crypto.OutboxEntry {
		q, err := backend.Open(context.Background(), queueURL)
		if err != nil {
			t.Fatal(err)
		}
		defer q.Close()
		msgs, err := q.List(context.Background(), queue.StreamOutbox, "", 100)
		if err != nil {
			t.Fatal(err)
		}
		var out []crypto.OutboxEntry
		for _, m := range msgs {
			e, err := crypto.OpenOutbox(m.Body, gwID)
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, *e)
		}
		return out
	}
	for _, tt := range []struct {
		name string
		args []string
		want string
	}{
		{"not said safe", []string{"console", "reply", unsafe, "--text", "hi", "--now"}, "safe"},
		{"web tip", []string{"console", "reply", web, "--text", "hi", "--now"}, "--now is for Telegram"},
		{"no expiry", []string{"console", "reply", safe, "--text", "hi", "--expires", "0s"}, "--expires"},
		{"bad gateway recipient", []string{"console", "reply", safe, "--text", "hi", "--gateway-recipient", "age1nope"}, "--gateway-recipient"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			code, _, stderr := runApp(t, nil, append(tt.args, base...)...)
			if code == 0 || !strings.Contains(stderr, tt.want) {
				t.Fatalf("exit %d, stderr %q; want a refusal naming %q", code, stderr, tt.want)
			}
			if n := len(outbox()); n != 0 {
				t.Fatalf("a refused reply left %d outbox entries", n)
			}
		})
	}

	code, stdout, stderr := runApp(t, nil, append([]string{"console", "reply", safe, "--text", "SAFE-NOW", "--now", "--expires", "2h"}, base...)...)
	if code != 0 {
		t.Fatalf("reply --now: exit %d: %s", code, stderr)
	}
	if !strings.Contains(stdout, "on its way") {
		t.Fatalf("reply --now said %q", stdout)
	}
	got := outbox()
	if len(got) != 1 {
		t.Fatalf("%d outbox entries, want 1", len(got))
	}
	e := got[0]
	if e.When != crypto.DeliverNow || e.Address != "4242001" || e.Text != "SAFE-NOW" || e.Case != safe || e.Channel != "telegram" {
		t.Fatalf("entry %+v", e)
	}
	if d := time.Until(e.Expires); d < 2*time.Hour || d > 3*time.Hour+time.Minute {
		t.Fatalf("entry expires in %v, want 2h rounded up to the hour", d)
	}
}
