package telegram

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"log/slog"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"github.com/flarehq/flare/channels"
	"github.com/flarehq/flare/channels/catalog"
	"github.com/flarehq/flare/crypto"
	"github.com/flarehq/flare/gateway"
	"github.com/flarehq/flare/queue/backend"

	"github.com/flarehq/flare/channels/telegram/telegramtest"
)

// FuzzDecodeUpdate feeds arbitrary webhook bodies to the update decoder
// and the router's classification. It must never panic, must report the
// update_id whenever the body has one, and its errors must not carry any
// of the body.
func FuzzDecodeUpdate(f *testing.F) {
	for _, v := range telegramtest.Vectors() {
		f.Add([]byte(v.Update))
	}
	f.Add([]byte(`{"update_id":1,"message":{"message_id":"x"}}`))
	f.Add([]byte(`{"update_id":1e400}`))
	f.Add([]byte(`{"update_id":-1,"callback_query":{"id":"1","from":null}}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, body []byte) {
		u, id, err := decodeUpdate(body)
		if err != nil {
			if err != errNotUpdate && err != errMalformedUpdate {
				t.Fatalf("unexpected error %v", err)
			}
			if u != nil {
				t.Fatal("update returned with an error")
			}
			return
		}
		if u.UpdateID != id {
			t.Fatalf("id %d, update says %d", id, u.UpdateID)
		}
		var head struct {
			UpdateID int `json:"update_id"`
		}
		if json.Unmarshal(body, &head) != nil || head.UpdateID != id {
			t.Fatalf("decoded id %d differs from the body's", id)
		}
		_ = kindOf(u)
		if u.Message != nil {
			_ = isPrivate(u.Message.Chat)
			command(u.Message.Text)
		}
		if u.CallbackQuery != nil && u.CallbackQuery.Message != nil {
			_ = isPrivate(u.CallbackQuery.Message.Chat)
		}
	})
}

// FuzzWebhook posts arbitrary bodies through the real webhook handler of a
// channel that is not running: whatever the body, the answer is one of the
// expected statuses and nothing panics.
func FuzzWebhook(f *testing.F) {
	for _, v := range telegramtest.Vectors() {
		f.Add([]byte(v.Update))
	}
	f.Add([]byte(`{"update_id":5,"message":{"chat":{"id":-5,"type":"group"}}}`))
	f.Add([]byte("\x00\xff"))
	ch := fuzzChannel(f)
	f.Fuzz(func(t *testing.T, body []byte) {
		rec := &recorder{header: map[string][]string{}}
		req := newWebhookRequest(body, testSecret)
		ch.serveWebhook(rec, req)
		switch rec.status {
		case 0, 200, 400, 413, 503:
		default:
			t.Fatalf("status %d", rec.status)
		}
	})
}

// fuzzChannel is a webhook-mode channel whose Bot API is a closed
// loopback port, so that whatever a fuzzed update makes it do fails fast.
func fuzzChannel(f *testing.F) *Channel {
	f.Helper()
	_, recipient, err := crypto.NewIdentity(false, time.Now())
	if err != nil {
		f.Fatal(err)
	}
	rcpt, _ := crypto.ParseRecipient(recipient)
	sealer, _ := crypto.NewSealer(rcpt)
	q, err := backend.Open(context.Background(), "file:"+filepath.Join(f.TempDir(), "flare.db"))
	if err != nil {
		f.Fatal(err)
	}
	intake, _ := gateway.NewIntake(gateway.IntakeConfig{Sealer: sealer, Queue: q, Log: slog.New(slog.DiscardHandler)})
	key := make([]byte, 32)
	rand.Read(key)
	hasher, _ := channels.NewHasher(key)
	cfg := DefaultConfig()
	cfg.Token = "1:fuzz"
	cfg.APIURL = "http://127.0.0.1:1"
	cfg.Mode = ModeWebhook
	cfg.WebhookSecret = testSecret
	cfg.DraftIdle = 50 * time.Millisecond
	ch, err := New(cfg, channels.Deps{Sink: intake, Queue: q, Hasher: hasher, Catalog: catalog.New(nil)})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { ch.shutdown(); q.Close() })
	return ch
}

func newWebhookRequest(body []byte, secret string) *http.Request {
	req, _ := http.NewRequestWithContext(context.Background(), http.MethodPost, WebhookPath, bytes.NewReader(body))
	req.Header.Set(SecretHeader, secret)
	return req
}
