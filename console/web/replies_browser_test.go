package web

import (
	"context"
	"github.com/flarehq/flare/internal/testbrowser"
	"log/slog"
	"net/url"
	"strings"
	"testing"
	"time"

	"filippo.io/age"
	"github.com/chromedp/chromedp"

	"github.com/flarehq/flare/channels/inbox"
	"github.com/flarehq/flare/crypto"
	"github.com/flarehq/flare/internal/testkit"
	"github.com/flarehq/flare/queue"
)

// TestBrowserReplyPanel: a key-holder answers a web source and a Telegram
// source from the tip page in Chromium, sees where each reply stands, and
// turns the kill switch on. The web source then reads the reply with their
// inbox code; the Telegram reply waits, sealed to the gateway, until the
// kill switch cancels it. Screenshots land in out/screenshots/console/.
func TestBrowserReplyPanel(t *testing.T) {
	b := newBrowser(t)
	st := embeddedStore(t)
	ctx := context.Background()
	alice := newKeyholder(t, "alice")
	rs := recipients(alice)
	gw, _ := age.GenerateX25519Identity()
	sealer, err := crypto.NewSealer(rs...)
	if err != nil {
		t.Fatal(err)
	}
	box := inbox.New(st.q, inbox.DefaultConfig)
	code, inboxRcpt, err := box.NewCode(ctx)
	if err != nil {
		t.Fatal(err)
	}
	enqueue := func(tip *crypto.Tip) string {
		t.Helper()
		tip.Received = crypto.CoarsenTime(time.Now())
		sealed, err := sealer.SealTip(tip)
		if err != nil {
			t.Fatal(err)
		}
		id, err := st.q.Enqueue(ctx, queue.StreamTips, sealed)
		if err != nil {
			t.Fatal(err)
		}
		return id
	}
	webKey := enqueue(&crypto.Tip{ID: "w1", Receipt: "K7QF-2M9D", Channel: "web", Kind: crypto.KindDistress, Text: "They took our passports.", Inbox: inboxRcpt})
	tgKey := enqueue(&crypto.Tip{ID: "t1", Receipt: "KQ3F-9M4D", Channel: "telegram", Kind: crypto.KindMissing, Text: "My brother is in building D.", Sender: &crypto.Sender{ChatID: "424242"}})

	out := &testkit.Buffer{}
	srv, err := New(Config{
		Queue: st.q, Identities: []age.Identity{alice.id}, Recipients: rs, Name: "alice",
		GatewayRecipients: []age.Recipient{gw.Recipient()},
		Out:               out, Log: slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatal(err)
	}
	serve(t, srv)
	var signIn string
	for range 100 {
		if signIn = urlPattern.FindString(string(out.Bytes())); signIn != "" {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	u, _ := url.Parse(signIn)
	base := "http://" + u.Host
	tab := b.tab(t)
	testbrowser.Do(t, tab, chromedp.Navigate(signIn), chromedp.WaitVisible(chromedp.CSS("#inbox")))

	// A web source: the reply waits in their inbox.
	testbrowser.Do(t, tab, chromedp.Navigate(base+"/tip/"+webKey), chromedp.WaitVisible(chromedp.CSS("#reply-form")))
	if reach := text(t, tab, "#reach"); !strings.Contains(reach, "inbox code") {
		t.Errorf("policy for a web source: %q", reach)
	}
	testbrowser.Do(t, tab, chromedp.SendKeys("#reply-text", "Which building? What are the names?"), chromedp.Click("#reply-send"), chromedp.WaitVisible(chromedp.CSS("#reply-saved")))
	if list := strings.ToLower(text(t, tab, "#reply-list")); !strings.Contains(list, "waiting") || !strings.Contains(list, "which building?") {
		t.Errorf("reply list after sending: %q", list)
	}
	screenshot(t, tab, "reply-panel-web")
	opened, err := box.Open(ctx, "test", code)
	if err != nil || len(opened.Replies) != 1 || opened.Replies[0].Text != "Which building? What are the names?" {
		t.Fatalf("the source's inbox holds %+v, %v", opened, err)
	}

	// A Telegram source: the reply waits for the check-in, sealed to the
	// gateway only.
	testbrowser.Do(t, tab, chromedp.Navigate(base+"/tip/"+tgKey), chromedp.WaitVisible(chromedp.CSS("#reply-form")))
	if reach := text(t, tab, "#reach"); !strings.Contains(reach, "checks in") {
		t.Errorf("policy for a Telegram source: %q", reach)
	}
	testbrowser.Do(t, tab, chromedp.SendKeys("#reply-text", "Is it safe to talk?"), chromedp.Click("#reply-send"), chromedp.WaitVisible(chromedp.CSS("#reply-saved")))
	if list := strings.ToLower(text(t, tab, "#reply-list")); !strings.Contains(list, "waiting for check-in") {
		t.Errorf("Telegram reply list: %q", list)
	}
	msgs, err := st.q.List(ctx, queue.StreamOutbox, "", 10)
	if err != nil || len(msgs) != 1 {
		t.Fatalf("outbox holds %d entries, %v", len(msgs), err)
	}
	e, err := crypto.OpenOutbox(msgs[0].Body, gw)
	if err != nil || e.Address != "424242" || e.When != crypto.DeliverAtCheckIn {
		t.Fatalf("the gateway opens %+v, %v", e, err)
	}
	if _, err := crypto.OpenOutbox(msgs[0].Body, alice.id); err == nil {
		t.Fatal("a key-holder's identity opens an outbox entry")
	}
	screenshot(t, tab, "reply-panel-telegram")

	// The kill switch cancels the pending reply and blocks new ones.
	testbrowser.Do(t, tab, chromedp.Click(`#stop-form input[name="confirm"]`), chromedp.Submit("#stop-form"), chromedp.WaitVisible(chromedp.CSS("#no-contact")))
	if list := strings.ToLower(text(t, tab, "#reply-list")); !strings.Contains(list, "cancelled") {
		t.Errorf("after the kill switch: %q", list)
	}
	if n := testbrowser.Eval[int](t, tab, `document.querySelectorAll("#reply-form").length`); n != 0 {
		t.Error("the composer is still offered after the kill switch")
	}
	screenshot(t, tab, "reply-panel-stopped")
}
