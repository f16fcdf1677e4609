package main

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/flarehq/flare/channels/telegram/telegramtest"
)

// Burmese typed on a Zawgyi keyboard: "ကျေးဇူးပြု၍ ကယ်ပါ" (please, save me)
// as Zawgyi stores it, built from the published code point mapping.
const (
	zawgyiText  = "\u1031\u1000\u103A\u1038\u1007\u1030\u1038\u103B\u1015\u102F\u104D \u1000\u101A\u1039\u1015\u102B"
	unicodeText = "\u1000\u103B\u1031\u1038\u1007\u1030\u1038\u1015\u103C\u102F\u104D \u1000\u101A\u103A\u1015\u102B"
)

// TestZawgyiInEveryChannelAndConsole sends Zawgyi Burmese through the web
// form, Telegram and SMS of a real gateway, and finds it in Unicode, with
// the original kept, in "flare console show" and the triage console.
func TestZawgyiInEveryChannelAndConsole(t *testing.T) {
	const secret = "0123456789abcdef0123456789abcdef"
	bot := telegramtest.NewServer(t)
	identity, recipient := keyholder(t, false)
	dataDir := t.TempDir()
	queueURL := "file:" + filepath.Join(dataDir, "flare.db")
	env := []string{"FLARE_TELEGRAM_TOKEN=" + telegramtest.Token, "FLARE_TELEGRAM_API_URL=" + bot.URL, "FLARE_SMS_WEBHOOK_SECRET=" + secret}
	g := startGateway(t, env, "--recipient", recipient, "--queue", queueURL, "--data-dir", dataDir)

	// The web form, from the English page, without choosing a kind.
	if status, page := postTip(t, "http://"+g.addr+"/?lang=en", map[string]string{"message": zawgyiText, "kind": "", "asked": "1"}, nil); status != 200 {
		t.Fatalf("form: %d %s", status, page)
	}
	// Telegram.
	src := telegramtest.User{ID: 777000222, FirstName: "Aung", Language: "my"}
	bot.Push(bot.Text(src, "/start"))
	bot.Push(bot.Text(src, zawgyiText))
	bot.Push(bot.Text(src, "/send"))
	// SMS, through the generic webhook.
	body := `{"event":"sms:received","id":"delivery-z","payload":{"messageId":"mz","message":"` + zawgyiText + `","phoneNumber":"+95912345678","simNumber":1}}`
	req, _ := http.NewRequest("POST", "http://"+g.addr+"/webhooks/sms", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	ts := strconv.FormatInt(time.Now().Unix(), 10)
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(body + ts))
	req.Header.Set("X-Timestamp", ts)
	req.Header.Set("X-Signature", hex.EncodeToString(m.Sum(nil)))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("sms webhook: %d", resp.StatusCode)
	}

	var rows []struct {
		ID      string `json:"id"`
		Channel string `json:"channel"`
	}
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		json.Unmarshal([]byte(runFlare(t, "console", "list", "--json", "--identity", identity, "--queue", queueURL)), &rows)
		if len(rows) == 3 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d tips; logs:\n%s", len(rows), g.logs.Bytes())
		}
	}
	channels := map[string]string{}
	for _, row := range rows {
		channels[row.Channel] = row.ID
		show := runFlare(t, "console", "show", row.ID, "--identity", identity, "--queue", queueURL)
		for _, want := range []string{"Language:  my", "\n" + unicodeText + "\n", "As received (zawgyi, converted above):\n" + zawgyiText} {
			if !strings.Contains(show, want) {
				t.Errorf("%s: console show lacks %q:\n%s", row.Channel, want, show)
			}
		}
	}
	for _, ch := range []string{"web", "telegram", "sms"} {
		if channels[ch] == "" {
			t.Errorf("no tip from %s: %v", ch, channels)
		}
	}

	// The triage console shows the same.
	signIn, _ := startConsoleServe(t, "--identity", identity, "--queue", queueURL, "--name", "alice")
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, Timeout: 20 * time.Second}
	if resp, err := c.Get(signIn); err != nil {
		t.Fatal(err)
	} else {
		resp.Body.Close()
	}
	base := signIn[:strings.Index(signIn, "/login")]
	for ch, id := range channels {
		resp, err := c.Get(base + "/tip/" + id)
		if err != nil {
			t.Fatal(err)
		}
		page, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("%s: %s %.500s", ch, resp.Status, page)
		}
		for _, want := range []string{`id="tip-text">` + unicodeText + `<`, `id="tip-original">` + zawgyiText + `<`, "language my"} {
			if !strings.Contains(string(page), want) {
				t.Errorf("%s: triage console page lacks %q", ch, want)
			}
		}
	}
}
