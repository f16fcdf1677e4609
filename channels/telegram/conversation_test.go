package telegram

import (
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/flarehq/flare/channels/telegram/telegramtest"
	"github.com/flarehq/flare/crypto"
)

var alice = telegramtest.User{ID: 918273645, Username: "sentinel_user_7731", FirstName: "Sentinelfirst", LastName: "Sentinellast", Language: "en"}

// guidedReport drives one whole guided report in the given kind: /start,
// language button, kind button, then text, a photo, a document, a voice
// note and a live location, an edit of the text, and the Send button. It
// returns what the fake server served.
func guidedReport(t *testing.T, h *harness, u telegramtest.User, kind crypto.Kind) (served map[string]string, text string) {
	t.Helper()
	h.deliver(h.srv.Text(u, "/start"), "sendMessage", 1)
	langMsg := h.lastKeyboard(u.ID)
	if got := keyboardData(h.srv.Messages(u.ID)[len(h.srv.Messages(u.ID))-1].Markup); !slices.Contains(got, "lang:en") || !slices.Contains(got, "lang:th") {
		t.Fatalf("language keyboard = %v", got)
	}
	h.deliver(h.srv.Callback(u, langMsg, "lang:en"), "editMessageText", 1)
	h.deliver(h.srv.Callback(u, langMsg, "kind:"+string(kind)), "editMessageText", 1)

	text = "SENTINEL-TEXT-4411 they moved us to building 7 " + string(kind)
	first := h.srv.Text(u, "a first draft that gets edited")
	h.deliver(first, "editMessageText", 1)
	photo := randomBytes(300 << 10)
	doc := randomBytes(1<<20 + 12345) // more than one sealed chunk
	voice := randomBytes(23000)
	h.deliver(h.srv.Photo(u, photo, "photo caption SENTINEL-CAPTION"), "editMessageText", 1)
	h.deliver(h.srv.Document(u, "sentinel-file.pdf", "application/pdf", doc, ""), "editMessageText", 1)
	h.deliver(h.srv.Voice(u, voice), "editMessageText", 1)
	loc := h.srv.Location(u, 13.736717, 100.523186, 900)
	h.deliver(loc, "editMessageText", 1)
	// Edits change the draft without a reply; the next update's reply
	// shows they were handled, in order.
	h.send(h.srv.Edit(u, first.MessageID, text, nil))
	h.send(h.srv.Edit(u, loc.MessageID, "", &[2]float64{13.7367, 100.5232}))
	h.deliver(h.srv.Callback(u, langMsg, "send"), "sendMessage", 1)
	waitFor(t, "receipt", func() bool { return strings.HasPrefix(h.lastBotText(u.ID), "Sent. Your code: ") })
	return map[string]string{"image/jpeg": sha(photo), "application/pdf": sha(doc), "audio/ogg": sha(voice)}, text
}

func TestGuidedReportEachKind(t *testing.T) {
	for _, kind := range []crypto.Kind{crypto.KindDistress, crypto.KindMissing, crypto.KindEvidence, crypto.KindOther} {
		t.Run(string(kind), func(t *testing.T) {
			h := newHarness(t, harnessOpts{})
			served, text := guidedReport(t, h, alice, kind)
			tips := h.tips()
			if len(tips) != 1 {
				t.Fatalf("%d tips queued, want 1", len(tips))
			}
			tip := tips[0]
			if tip.Channel != Name || tip.Kind != kind || tip.Language != "en" {
				t.Errorf("tip channel/kind/lang = %q/%q/%q", tip.Channel, tip.Kind, tip.Language)
			}
			if !strings.Contains(tip.Text, text) || !strings.Contains(tip.Text, "photo caption SENTINEL-CAPTION") {
				t.Errorf("tip text %q lacks the edited text or the caption", tip.Text)
			}
			if strings.Contains(tip.Text, "a first draft") {
				t.Errorf("tip text %q still has the text before the edit", tip.Text)
			}
			if tip.Location == nil || *tip.Location.Latitude != 13.7367 || *tip.Location.Longitude != 100.5232 || !tip.Location.Live {
				t.Errorf("location = %+v, want the live location's last position", tip.Location)
			}
			want := crypto.Sender{ChatID: strconv.FormatInt(alice.ID, 10), UserID: strconv.FormatInt(alice.ID, 10), Username: alice.Username, Name: "Sentinelfirst Sentinellast"}
			if tip.Sender == nil || *tip.Sender != want {
				t.Errorf("sender = %+v, want %+v", tip.Sender, want)
			}
			if tip.Reply == nil || tip.Reply.Channel != Name || tip.Reply.Address != strconv.FormatInt(alice.ID, 10) {
				t.Errorf("reply = %+v", tip.Reply)
			}
			if len(tip.Attachments) != 3 {
				t.Fatalf("%d attachments, want 3", len(tip.Attachments))
			}
			for _, a := range tip.Attachments {
				if a.SHA256 != served[a.MediaType] {
					t.Errorf("attachment %s: sha256 %s, served %s", a.MediaType, a.SHA256, served[a.MediaType])
				}
				if got := h.attachmentSHA(a); got != served[a.MediaType] {
					t.Errorf("attachment %s opens to sha256 %s, served %s", a.MediaType, got, served[a.MediaType])
				}
			}
			if !strings.Contains(h.lastBotText(alice.ID), tip.Receipt) {
				t.Errorf("receipt message %q does not show code %s", h.lastBotText(alice.ID), tip.Receipt)
			}
			assertWiped(t, h, alice.ID, 1)
			consoleShow(t, h, tip, served)
		})
	}
}

// assertWiped checks that every message of the chat, both directions, got
// a deleteMessage and is gone, except the last keep bot messages (the
// receipt).
func assertWiped(t *testing.T, h *harness, chatID int64, keep int) {
	t.Helper()
	msgs := h.srv.Messages(chatID)
	deleted := map[string]int{}
	for _, c := range h.srv.Calls("deleteMessage") {
		if c.Params.Get("chat_id") == strconv.FormatInt(chatID, 10) {
			deleted[c.Params.Get("message_id")]++
		}
	}
	var fromUser, fromBot int
	for i, m := range msgs {
		if i >= len(msgs)-keep {
			if m.Deleted {
				t.Errorf("message %d (the receipt) was deleted too early", m.ID)
			}
			continue
		}
		if !m.Deleted || deleted[strconv.Itoa(m.ID)] != 1 {
			t.Errorf("message %d (from bot: %v) deleted %d times, gone: %v", m.ID, m.FromBot, deleted[strconv.Itoa(m.ID)], m.Deleted)
		}
		if m.FromBot {
			fromBot++
		} else {
			fromUser++
		}
	}
	if fromUser == 0 || fromBot == 0 {
		t.Errorf("wiped %d user and %d bot messages; want both directions", fromUser, fromBot)
	}
}

func TestTypedCommandsFileATip(t *testing.T) {
	h := newHarness(t, harnessOpts{cfg: func(c *Config) { c.Wipe = false }})
	h.deliver(h.srv.Text(alice, "/start"), "sendMessage", 1)
	h.deliver(h.srv.Text(alice, "/lang th"), "sendMessage", 1)
	if got := h.lastBotText(alice.ID); got != "เรื่องอะไร" {
		t.Errorf("after /lang th the bot says %q, want the Thai override", got)
	}
	h.deliver(h.srv.Text(alice, "/lang xx"), "sendMessage", 1)
	// In the chosen language, listing languages by their own names.
	if got := h.lastBotText(alice.ID); !strings.Contains(got, "ไม่มีภาษานั้น") || !strings.Contains(got, "ភាសាខ្មែរ") || strings.Contains(got, " km") {
		t.Errorf("/lang xx: %q", got)
	}
	h.deliver(h.srv.Text(alice, "plain words, no buttons"), "sendMessage", 1) // panel
	h.deliver(h.srv.Text(alice, "/send"), "sendMessage", 1)
	waitFor(t, "tip", func() bool { return len(h.q.tips()) == 1 })
	tip := h.tips()[0]
	if tip.Kind != crypto.KindTip || tip.Language != "th" || tip.Text != "plain words, no buttons" {
		t.Errorf("tip kind/lang/text = %q/%q/%q", tip.Kind, tip.Language, tip.Text)
	}
	if n := len(h.srv.Calls("deleteMessage")); n != 0 {
		t.Errorf("wipe off, but %d deleteMessage calls", n)
	}
}

func TestSendWithNothingAndUnsupported(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	h.deliver(h.srv.Text(alice, "/start"), "sendMessage", 1)
	for _, u := range []telegramtest.Update{h.srv.Sticker(alice), h.srv.Poll(alice)} {
		h.deliver(u, "sendMessage", 1)
		if got := h.lastBotText(alice.ID); got != defaultTexts[txtUnsupported] {
			t.Errorf("unsupported message answered with %q", got)
		}
	}
	h.deliver(h.srv.Text(alice, "/send"), "sendMessage", 1)
	if got := h.lastBotText(alice.ID); got != defaultTexts[txtNothingYet] {
		t.Errorf("/send with nothing: %q", got)
	}
	if n := len(h.q.tips()); n != 0 {
		t.Errorf("%d tips queued from stickers and polls", n)
	}
}

func TestCancelDiscardsAndWipes(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	h.deliver(h.srv.Text(alice, "/start"), "sendMessage", 1)
	h.deliver(h.srv.Text(alice, "never mind SENTINEL-TEXT-4411"), "sendMessage", 1)
	h.deliver(h.srv.Document(alice, "a.bin", "application/octet-stream", randomBytes(5000), ""), "editMessageText", 1)
	if h.q.liveBlobs() != 1 {
		t.Fatalf("%d blobs stored before cancel, want 1", h.q.liveBlobs())
	}
	h.deliver(h.srv.Text(alice, "/cancel"), "sendMessage", 1)
	waitFor(t, "cancel", func() bool { return h.lastBotText(alice.ID) == defaultTexts[txtCancelled] })
	if n := len(h.q.tips()); n != 0 {
		t.Errorf("%d tips queued after cancel", n)
	}
	if n := h.q.liveBlobs(); n != 0 {
		t.Errorf("%d attachment blobs left after cancel", n)
	}
	assertWiped(t, h, alice.ID, 1)
}

func TestQuietDraftIsSealedNotDropped(t *testing.T) {
	h := newHarness(t, harnessOpts{cfg: func(c *Config) { c.DraftIdle = 300 * time.Millisecond }})
	h.deliver(h.srv.Text(alice, "/start"), "sendMessage", 1)
	h.deliver(h.srv.Text(alice, "then the phone was taken"), "sendMessage", 1)
	waitFor(t, "sealed after quiet", func() bool { return len(h.q.tips()) == 1 })
	if tip := h.tips()[0]; tip.Text != "then the phone was taken" {
		t.Errorf("text = %q", tip.Text)
	}
	waitFor(t, "receipt", func() bool { return strings.HasPrefix(h.lastBotText(alice.ID), "Sent.") })
	assertWiped(t, h, alice.ID, 1)

	// A chat that only said /start leaves nothing queued when it goes quiet.
	bob := telegramtest.User{ID: 5550001, FirstName: "B"}
	h.deliver(h.srv.Text(bob, "/start"), "sendMessage", 1)
	waitFor(t, "empty session wiped", func() bool {
		msgs := h.srv.Messages(bob.ID)
		return len(msgs) == 2 && msgs[0].Deleted && msgs[1].Deleted
	})
	if n := len(h.q.tips()); n != 1 {
		t.Errorf("%d tips, want still 1", n)
	}
}

func TestShutdownSealsDrafts(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	h.deliver(h.srv.Text(alice, "/start"), "sendMessage", 1)
	h.deliver(h.srv.Text(alice, "half a message"), "sendMessage", 1)
	h.stop()
	if n := len(h.q.tips()); n != 1 {
		t.Fatalf("%d tips after shutdown, want the draft sealed", n)
	}
	if h := h.ch.Health(); h.OK {
		t.Errorf("health after stop = %+v", h)
	}
}

func TestReceiptSelfDestructs(t *testing.T) {
	h := newHarness(t, harnessOpts{cfg: func(c *Config) { c.ReceiptTTL = 200 * time.Millisecond }})
	h.deliver(h.srv.Text(alice, "/start"), "sendMessage", 1)
	h.deliver(h.srv.Text(alice, "x"), "sendMessage", 1)
	h.deliver(h.srv.Text(alice, "/send"), "sendMessage", 1)
	waitFor(t, "every message gone, receipt too", func() bool {
		for _, m := range h.srv.Messages(alice.ID) {
			if !m.Deleted {
				return false
			}
		}
		return true
	})
	assertWiped(t, h, alice.ID, 0)
}

func TestContactAndVenue(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	h.deliver(h.srv.Text(alice, "/start"), "sendMessage", 1)
	h.deliver(h.srv.Contact(alice, "+15550107788", "Me", alice.ID), "sendMessage", 1)
	h.deliver(h.srv.Contact(alice, "+15550109999", "Cousin", 0), "editMessageText", 1)
	h.deliver(h.srv.Text(alice, "/send"), "sendMessage", 1)
	waitFor(t, "tip", func() bool { return len(h.q.tips()) == 1 })
	tip := h.tips()[0]
	if tip.Sender.Phone != "+15550107788" {
		t.Errorf("own phone not in sender: %+v", tip.Sender)
	}
	if len(tip.People) != 1 || !strings.Contains(tip.People[0], "+15550109999") {
		t.Errorf("people = %v", tip.People)
	}
}

func TestFileTooLarge(t *testing.T) {
	tests := []struct {
		name        string
		cfgMax      int64
		serverMax   int
		wantGetFile bool
	}{
		{"known from the message", 1000, telegramtest.DefaultFileLimit, false},
		{"refused by the bot api server", TelegramFileLimit, 1000, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, harnessOpts{cfg: func(c *Config) { c.MaxFileBytes = tt.cfgMax }})
			h.srv.SetFileLimit(tt.serverMax)
			h.deliver(h.srv.Text(alice, "/start"), "sendMessage", 1)
			h.deliver(h.srv.Document(alice, "big.mp4", "video/mp4", randomBytes(2000), ""), "sendMessage", 1)
			got := h.lastBotText(alice.ID)
			if !strings.Contains(got, "too large") {
				t.Errorf("source told %q", got)
			}
			if n := len(h.srv.Calls("getFile")); (n > 0) != tt.wantGetFile {
				t.Errorf("%d getFile calls", n)
			}
			if h.q.liveBlobs() != 0 {
				t.Errorf("a blob was kept for a refused file")
			}
		})
	}
}

// A draft that keeps growing is still sealed at its maximum age.
func TestDraftMaxAge(t *testing.T) {
	h := newHarness(t, harnessOpts{cfg: func(c *Config) { c.DraftMaxAge = 400 * time.Millisecond }})
	h.deliver(h.srv.Text(alice, "/start"), "sendMessage", 1)
	h.deliver(h.srv.Text(alice, "part one"), "sendMessage", 1)
	h.deliver(h.srv.Text(alice, "part two"), "editMessageText", 1)
	waitFor(t, "sealed at max age", func() bool { return len(h.q.tips()) == 1 })
	if got := h.tips()[0].Text; got != "part one\n\npart two" {
		t.Errorf("text %q", got)
	}
}

// An edit that arrives after its conversation was sealed changes nothing
// and starts nothing.
func TestEditAfterSealIgnored(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	h.deliver(h.srv.Text(alice, "/start"), "sendMessage", 1)
	msg := h.srv.Text(alice, "original")
	h.deliver(msg, "sendMessage", 1)
	h.deliver(h.srv.Text(alice, "/send"), "sendMessage", 1)
	waitFor(t, "tip", func() bool { return len(h.q.tips()) == 1 })
	calls := len(h.srv.Calls())
	h.srv.Push(h.srv.Edit(alice, msg.MessageID, "changed later", nil))
	waitFor(t, "edit consumed", func() bool { return h.srv.Pending() == 0 })
	time.Sleep(50 * time.Millisecond)
	h.ch.mu.Lock()
	n := len(h.ch.sessions)
	h.ch.mu.Unlock()
	if n != 0 {
		t.Errorf("%d sessions after a late edit", n)
	}
	for _, c := range h.srv.Calls()[calls:] {
		if c.Method != "getUpdates" {
			t.Errorf("late edit made the bot call %s", c.Method)
		}
	}
	if got := h.tips()[0].Text; got != "original" {
		t.Errorf("sealed text %q", got)
	}
}
