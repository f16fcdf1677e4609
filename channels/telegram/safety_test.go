package telegram

import (
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/flarehq/flare/channels/catalog"
	"github.com/flarehq/flare/channels/telegram/telegramtest"
)

func TestDisguise(t *testing.T) {
	h := newHarness(t, harnessOpts{cfg: func(c *Config) { c.CodeWord = "Zm9v" }})
	cover := map[string]bool{defaultTexts[txtCoverStart]: true, defaultTexts[txtCoverReply]: true}

	// A chat without the code word sees only the cover bot, whatever it
	// sends, and nothing is kept.
	stranger := telegramtest.User{ID: 4440001, FirstName: "S"}
	for _, u := range []telegramtest.Update{
		h.srv.Text(stranger, "/start"),
		h.srv.Text(stranger, "/start wrongcode"),
		h.srv.Text(stranger, "help SENTINEL-TEXT-4411"),
		h.srv.Text(stranger, "Zm9vX"),
		h.srv.Text(stranger, "/send"),
		h.srv.Photo(stranger, randomBytes(1000), "x"),
		h.srv.Text(stranger, "/cancel"),
	} {
		h.deliver(u, "sendMessage", 1)
	}
	for _, m := range h.srv.Messages(stranger.ID) {
		if m.FromBot && (!cover[m.Text] || m.Markup != "") {
			t.Errorf("stranger saw %q (keyboard %q)", m.Text, m.Markup)
		}
		if m.Deleted {
			t.Errorf("cover conversation message %d deleted", m.ID)
		}
	}
	if n := len(h.srv.Calls("getFile")); n != 0 {
		t.Errorf("cover bot fetched %d files", n)
	}

	// The deep link unlocks; so does the code word typed.
	for _, opener := range []string{"/start Zm9v", "Zm9v"} {
		u := telegramtest.User{ID: 4440002 + int64(len(opener)), FirstName: "K"}
		h.deliver(h.srv.Text(u, opener), "sendMessage", 1)
		if got := h.lastBotText(u.ID); got != defaultTexts[txtChooseLang] {
			t.Fatalf("after %q the bot says %q", opener, got)
		}
		h.deliver(h.srv.Text(u, "what I saw"), "sendMessage", 1)
		h.deliver(h.srv.Text(u, "/send"), "sendMessage", 1)
		waitFor(t, "receipt", func() bool { return strings.HasPrefix(h.lastBotText(u.ID), "Sent.") })
		// The code word's own message is wiped with the rest.
		for _, m := range h.srv.Messages(u.ID)[:1] {
			if !m.Deleted {
				t.Errorf("%q message not wiped", opener)
			}
		}
	}
	tips := h.tips()
	if len(tips) != 2 {
		t.Fatalf("%d tips, want 2 (the unlocked chats only)", len(tips))
	}
	for _, tip := range tips {
		if tip.Text != "what I saw" {
			t.Errorf("tip text %q", tip.Text)
		}
	}
}

func TestGroupsAndChannelsRefused(t *testing.T) {
	h := webhookHarness(t, harnessOpts{})
	h.deliver(h.srv.GroupText(-100200300, alice, "/start"), "leaveChat", 1)
	h.deliver(h.srv.ChannelPost(-100999, "news"), "leaveChat", 1)
	leaves := h.srv.Calls("leaveChat")
	if leaves[0].Params.Get("chat_id") != "-100200300" || leaves[1].Params.Get("chat_id") != "-100999" {
		t.Errorf("left %v and %v", leaves[0].Params, leaves[1].Params)
	}
	time.Sleep(50 * time.Millisecond)
	if n := len(h.srv.Calls("sendMessage")); n != 0 {
		t.Errorf("bot spoke %d times in groups", n)
	}
}

// A flood from one chat is cut at its burst, and a second chat is served
// while the first one's session is still busy with a download.
func TestFloodIsRateLimitedPerChat(t *testing.T) {
	h := webhookHarness(t, harnessOpts{cfg: func(c *Config) { c.RateBurst = 5; c.RatePerMinute = 1 }})
	flooder := telegramtest.User{ID: 3330001, FirstName: "F"}
	h.deliver(h.srv.Text(flooder, "/start"), "sendMessage", 1)
	release := h.srv.HoldDownloads(0)
	defer release()
	h.send(h.srv.Document(flooder, "a.bin", "application/octet-stream", randomBytes(100), ""))
	for i := 0; i < 50; i++ {
		h.send(h.srv.Text(flooder, fmt.Sprintf("flood %d", i)))
	}
	// The other chat's /start is answered while the flooder's download
	// still hangs.
	other := telegramtest.User{ID: 3330002, FirstName: "O"}
	h.deliver(h.srv.Text(other, "/start"), "sendMessage", 1)
	if got := h.lastBotText(other.ID); got != defaultTexts[txtChooseLang] {
		t.Errorf("other chat got %q", got)
	}
	release()
	h.send(h.srv.Text(other, "hello"))
	h.send(h.srv.Text(other, "/send"))
	waitFor(t, "other chat's tip", func() bool { return len(h.q.tips()) == 1 })
	if got := h.tips()[0].Text; got != "hello" {
		t.Errorf("other chat's tip %q", got)
	}
	// The flooder: /start + document + 3 texts fit the burst of 5; one
	// "slow down".
	waitFor(t, "slow down", func() bool {
		for _, m := range h.srv.Messages(flooder.ID) {
			if m.FromBot && m.Text == defaultTexts[txtSlowDown] {
				return true
			}
		}
		return false
	})
	var slow int
	for _, m := range h.srv.Messages(flooder.ID) {
		if m.FromBot && m.Text == defaultTexts[txtSlowDown] {
			slow++
		}
	}
	if slow != 1 {
		t.Errorf("flooder told to slow down %d times, want 1", slow)
	}
	if !strings.Contains(h.logs.String(), "rate limit") {
		t.Error("dropped updates not logged")
	}
	for _, k := range []string{strconv.FormatInt(flooder.ID, 10)} {
		if strings.Contains(h.logs.String(), k) {
			t.Error("chat id in logs")
		}
	}
}

// The flooder's dropped messages are still wiped with the conversation.
func TestDroppedMessagesAreWiped(t *testing.T) {
	h := webhookHarness(t, harnessOpts{cfg: func(c *Config) { c.RateBurst = 3; c.RatePerMinute = 1 }})
	u := telegramtest.User{ID: 3330003, FirstName: "F"}
	h.deliver(h.srv.Text(u, "/start"), "sendMessage", 1)
	h.deliver(h.srv.Text(u, "one"), "sendMessage", 1)
	for i := 0; i < 5; i++ {
		h.send(h.srv.Text(u, "dropped"))
	}
	h.deliver(h.srv.Text(u, "/cancel"), "sendMessage", 0)
	// /cancel itself was over the limit too; end the draft with a
	// shutdown, which seals it and so wipes it.
	time.Sleep(50 * time.Millisecond)
	h.stop()
	for _, m := range h.srv.Messages(u.ID) {
		if m.Text == "dropped" && !m.Deleted {
			t.Errorf("dropped message %d not wiped", m.ID)
		}
	}
}

// Polling: an update the library cannot decode is skipped, the rest of the
// batch is handled, and getUpdates moves past it.
func TestPollingSkipsMalformedUpdate(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	var inline []byte
	for _, v := range telegramtest.Vectors() {
		if v.ID == "tg-docs-inline-query" {
			inline = v.Update
		}
	}
	bad := h.srv.Next()
	h.srv.PushRaw(bad, []byte(strings.Replace(string(inline), "10000", strconv.Itoa(bad), 1)))
	h.deliver(h.srv.Text(alice, "/start"), "sendMessage", 1)
	waitFor(t, "offset moved past", func() bool { return h.srv.Pending() == 0 })
	if !strings.Contains(h.logs.String(), "telegram update skipped") {
		t.Error("malformed update not logged")
	}
	if strings.Contains(h.logs.String(), "test inline query") || strings.Contains(h.logs.String(), "Test Firstname") {
		t.Error("malformed update content logged")
	}
}

func TestDefaultTextsAreNeutral(t *testing.T) {
	for k, v := range defaultTexts {
		for _, word := range []string{"traffick", "rescue", "report", "abuse", "police", "flare", "escape", "victim"} {
			if strings.Contains(strings.ToLower(v), word) {
				t.Errorf("%s says %q", k, word)
			}
		}
	}
	// A deployment overrides any text.
	h := newHarness(t, harnessOpts{texts: map[string]map[string]string{"en": {txtReceipt: "Thanks, your ref is %s"}}})
	h.deliver(h.srv.Text(alice, "/start"), "sendMessage", 1)
	h.deliver(h.srv.Text(alice, "x"), "sendMessage", 1)
	h.deliver(h.srv.Text(alice, "/send"), "sendMessage", 1)
	waitFor(t, "receipt", func() bool { return strings.HasPrefix(h.lastBotText(alice.ID), "Thanks, your ref is ") })
	if n := len(catalog.New(nil).Languages()); n != len(catalog.Supported) {
		t.Fatalf("fresh catalog has %d languages", n)
	}
}

// /start and /lang offer every language by its own name, and a source's
// Telegram language_code picks the language before they choose.
func TestLanguageMenuAndClientLanguage(t *testing.T) {
	h := newHarness(t, harnessOpts{texts: map[string]map[string]string{}})
	taiwan := telegramtest.User{ID: 5550001, FirstName: "A", Language: "zh-TW"}
	h.deliver(h.srv.Text(taiwan, "/start"), "sendMessage", 1)
	if got := h.lastBotText(taiwan.ID); got != "請選擇語言。" {
		t.Errorf("zh-TW user asked %q, want Traditional Chinese", got)
	}
	msgs := h.srv.Messages(taiwan.ID)
	markup := msgs[len(msgs)-1].Markup
	for _, name := range []string{"ភាសាខ្មែរ", "မြန်မာ", "ไทย", "Tiếng Việt", "简体中文", "繁體中文", "اردو", "Filipino"} {
		if !strings.Contains(markup, name) {
			t.Errorf("language menu lacks %s: %s", name, markup)
		}
	}
	h.deliver(h.srv.Text(taiwan, "/lang"), "sendMessage", 1)
	msgs = h.srv.Messages(taiwan.ID)
	if m := msgs[len(msgs)-1]; !strings.Contains(m.Markup, "lang:km") {
		t.Errorf("/lang shows no menu: %q %s", m.Text, m.Markup)
	}
	h.deliver(h.srv.Text(taiwan, "/lang tl"), "sendMessage", 1)
	if got := h.lastBotText(taiwan.ID); got != "Tungkol saan ito?" {
		t.Errorf("/lang tl: bot says %q, want Filipino", got)
	}
}

// The bot token is in every Bot API URL; it must never reach a log, even
// when calls fail.
func TestTokenNeverLogged(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	h.srv.Fail("getFile", 1)
	h.deliver(h.srv.Text(alice, "/start"), "sendMessage", 1)
	h.deliver(h.srv.Document(alice, "a", "b/c", randomBytes(10), ""), "sendMessage", 1)
	if got := h.lastBotText(alice.ID); got != defaultTexts[txtFileFailed] {
		t.Errorf("source told %q", got)
	}
	h.stop()
	// A server that is gone: transport errors carry the URL.
	dead := newHarness(t, harnessOpts{cfg: func(c *Config) { c.APIURL = "http://127.0.0.1:1" }})
	waitFor(t, "getMe failure logged", func() bool { return strings.Contains(dead.logs.String(), "getMe") })
	dead.stop()
	for _, logs := range []string{h.logs.String(), dead.logs.String()} {
		if strings.Contains(logs, telegramtest.Token) || strings.Contains(logs, strings.SplitN(telegramtest.Token, ":", 2)[1]) {
			t.Errorf("bot token in logs:\n%s", logs)
		}
	}
}

// A file is sealed into the store chunk by chunk while it is still
// arriving: the first sealed chunk is stored before the download ends.
func TestMediaIsStreamed(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	h.deliver(h.srv.Text(alice, "/start"), "sendMessage", 1)
	data := randomBytes(3 << 20)
	release := h.srv.HoldDownloads(2 << 20)
	defer release()
	h.send(h.srv.Document(alice, "video.mp4", "video/mp4", data, ""))
	waitFor(t, "a sealed chunk stored mid-download", func() bool { return h.q.chunksPut() > 0 })
	if n := len(h.srv.Calls("editMessageText")); n != 0 {
		t.Fatalf("file counted before it fully arrived (%d edits)", n)
	}
	release()
	h.deliver(h.srv.Text(alice, "/send"), "sendMessage", 1)
	waitFor(t, "tip", func() bool { return len(h.q.tips()) == 1 })
	tip := h.tips()[0]
	if len(tip.Attachments) != 1 || h.attachmentSHA(tip.Attachments[0]) != sha(data) {
		t.Errorf("attachments %+v", tip.Attachments)
	}
}

// TestTextsInEveryLanguage fails, naming the key and the language, when a
// bot text lacks a translation.
func TestTextsInEveryLanguage(t *testing.T) {
	for _, p := range catalog.Check(defaultTexts) {
		t.Error(p)
	}
}
