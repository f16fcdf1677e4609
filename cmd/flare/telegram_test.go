package main

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/flarehq/flare/channels/telegram/telegramtest"
)

// TestGatewayWiresTelegram runs "flare gateway" with a bot token in the
// environment (never a flag) against a local server speaking the Bot API,
// and files a tip with /start, a message and /send, as a source would.
func TestGatewayWiresTelegram(t *testing.T) {
	bot := telegramtest.NewServer(t)
	identity, recipient := keyholder(t, false)
	dataDir := t.TempDir()
	queueURL := "file:" + filepath.Join(dataDir, "flare.db")
	env := []string{"FLARE_TELEGRAM_TOKEN=" + telegramtest.Token, "FLARE_TELEGRAM_API_URL=" + bot.URL}
	g := startGateway(t, env, "--recipient", recipient, "--queue", queueURL, "--data-dir", dataDir)

	src := telegramtest.User{ID: 777000111, Username: "trapped_worker", FirstName: "Dara"}
	bot.Push(bot.Text(src, "/start"))
	bot.Push(bot.Text(src, "they took our phones, building C"))
	bot.Push(bot.Text(src, "/send"))

	var list string
	for deadline := time.Now().Add(20 * time.Second); ; {
		list = runFlare(t, "console", "list", "--identity", identity, "--queue", queueURL)
		if strings.Count(list, "\n") >= 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no tip from the bot; logs:\n%s", g.logs.Bytes())
		}
		time.Sleep(200 * time.Millisecond)
	}
	id := strings.Fields(strings.Split(list, "\n")[1])[0]
	show := runFlare(t, "console", "show", id, "--identity", identity, "--queue", queueURL)
	for _, want := range []string{"Channel:   telegram", "they took our phones, building C", "777000111", "trapped_worker"} {
		if !strings.Contains(show, want) {
			t.Errorf("console show lacks %q:\n%s", want, show)
		}
	}
	if strings.Contains(string(g.logs.Bytes()), telegramtest.Token) || strings.Contains(string(g.logs.Bytes()), "777000111") {
		t.Errorf("the gateway logged the bot token or the chat id:\n%s", g.logs.Bytes())
	}
}
