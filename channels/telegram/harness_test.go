package telegram

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"filippo.io/age"

	"github.com/flarehq/flare/channels"
	"github.com/flarehq/flare/channels/catalog"
	"github.com/flarehq/flare/channels/telegram/telegramtest"
	"github.com/flarehq/flare/crypto"
	"github.com/flarehq/flare/gateway"
	"github.com/flarehq/flare/internal/testkit"
	"github.com/flarehq/flare/queue"
)

// harness runs one Telegram channel against a fake Bot API server, with a
// real gateway.Intake sealing to a test identity.
type harness struct {
	t      testing.TB
	srv    *telegramtest.Server
	ch     *Channel
	q      *recQueue
	ids    []age.Identity
	idFile string
	logs   *testkit.Buffer
	dir    string
	cfg    Config
	hook   *httptest.Server
	cancel context.CancelFunc
	done   chan struct{}
}

type harnessOpts struct {
	cfg       func(*Config)
	texts     map[string]map[string]string
	hasherKey []byte
	srv       *telegramtest.Server
	q         *recQueue
	queueURL  string // "" for the embedded store in the harness's data dir
	limits    channels.Limits
	noRun     bool
	// outbox, when set, builds the channel's outbox on the harness's queue.
	outbox func(q queue.Queue) channels.Outbox
}

func newHarness(t testing.TB, o harnessOpts) *harness {
	t.Helper()
	dir := t.TempDir()
	k := testkit.NewKeyHolder(t)
	ids, rcpt := k.Identities, k.Recipient
	sealer, err := crypto.NewSealer(rcpt)
	if err != nil {
		t.Fatal(err)
	}
	idPath := k.File
	q := o.q
	if q == nil {
		url := o.queueURL
		if url == "" {
			url = "file:" + filepath.Join(dir, "flare.db")
		}
		q = openQueue(t, url)
	}
	logs := &testkit.Buffer{}
	log := slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	intake, err := gateway.NewIntake(gateway.IntakeConfig{Sealer: sealer, Queue: q, Log: log, Limits: o.limits})
	if err != nil {
		t.Fatal(err)
	}
	key := o.hasherKey
	if key == nil {
		key = make([]byte, 32)
		rand.Read(key)
	}
	hasher, err := channels.NewHasher(key)
	if err != nil {
		t.Fatal(err)
	}
	texts := o.texts
	if texts == nil {
		// A second language, so that /start shows the language keyboard.
		texts = map[string]map[string]string{"th": {txtChooseKind: "เรื่องอะไร"}}
	}
	cat := catalog.New(texts)
	cat.SetLanguageName("th", "ไทย")
	srv := o.srv
	if srv == nil {
		srv = telegramtest.NewServer(t)
	}
	cfg := DefaultConfig()
	cfg.Token = telegramtest.Token
	cfg.APIURL = srv.URL
	cfg.PollTimeout = time.Second
	if o.cfg != nil {
		o.cfg(&cfg)
	}
	deps := channels.Deps{Sink: intake, Queue: q, Hasher: hasher, Catalog: cat, Log: log}
	if o.outbox != nil {
		deps.Outbox = o.outbox(q)
	}
	ch, err := New(cfg, deps)
	if err != nil {
		t.Fatal(err)
	}
	h := &harness{t: t, srv: srv, ch: ch, q: q, ids: ids, idFile: idPath, logs: logs, dir: dir, cfg: cfg, done: make(chan struct{})}
	if cfg.Mode == ModeWebhook {
		mux := http.NewServeMux()
		ch.Routes(mux)
		h.hook = httptest.NewServer(mux)
		t.Cleanup(h.hook.Close)
	}
	if o.noRun {
		close(h.done)
		return h
	}
	ctx, cancel := context.WithCancel(context.Background())
	h.cancel = cancel
	go func() {
		defer close(h.done)
		if err := ch.Run(ctx); err != nil {
			t.Errorf("Run: %v", err)
		}
	}()
	t.Cleanup(h.stop)
	if cfg.Mode == ModeWebhook {
		waitFor(t, "channel ready", func() bool { return ch.Health().OK })
	}
	return h
}

// stop ends Run and waits for it.
func (h *harness) stop() {
	if h.cancel != nil {
		h.cancel()
	}
	<-h.done
}

// waitFor polls cond until it holds, failing the test after 10 seconds.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// deliver hands an update to the channel (getUpdates, or a webhook POST in
// webhook mode) and waits until the bot has made n more calls to method.
func (h *harness) deliver(u telegramtest.Update, method string, n int) {
	h.t.Helper()
	before := len(h.srv.Calls(method))
	h.send(u)
	waitFor(h.t, method+" after update", func() bool { return len(h.srv.Calls(method)) >= before+n })
}

// send hands an update to the channel without waiting.
func (h *harness) send(u telegramtest.Update) {
	h.t.Helper()
	if h.hook != nil {
		if code := h.post(u.JSON, h.cfg.WebhookSecret); code != http.StatusOK {
			h.t.Fatalf("webhook answered %d", code)
		}
		return
	}
	h.srv.Push(u)
}

// post sends body to the webhook with secret and returns the status.
func (h *harness) post(body []byte, secret string) int {
	h.t.Helper()
	req, err := http.NewRequest(http.MethodPost, h.hook.URL+WebhookPath, bytes.NewReader(body))
	if err != nil {
		h.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if secret != "" {
		req.Header.Set(SecretHeader, secret)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

// lastKeyboard returns the id of the newest bot message with a keyboard.
func (h *harness) lastKeyboard(chatID int64) int {
	h.t.Helper()
	msgs := h.srv.Messages(chatID)
	for i := len(msgs) - 1; i >= 0; i-- {
		if msgs[i].FromBot && msgs[i].Markup != "" && !msgs[i].Deleted {
			return msgs[i].ID
		}
	}
	h.t.Fatal("no bot message with a keyboard")
	return 0
}

// lastBotText returns the text of the newest bot message.
func (h *harness) lastBotText(chatID int64) string {
	msgs := h.srv.Messages(chatID)
	for i := len(msgs) - 1; i >= 0; i-- {
		if msgs[i].FromBot {
			return msgs[i].Text
		}
	}
	return ""
}

// tips opens every sealed tip in the queue.
func (h *harness) tips() []*crypto.Tip {
	h.t.Helper()
	var out []*crypto.Tip
	for _, m := range h.q.tips() {
		tip, err := crypto.OpenTip(m.Body, h.ids...)
		if err != nil {
			h.t.Fatalf("open tip: %v", err)
		}
		out = append(out, tip)
	}
	return out
}

// attachmentSHA opens an attachment and returns the SHA-256 of its
// plaintext.
func (h *harness) attachmentSHA(ref crypto.AttachmentRef) string {
	h.t.Helper()
	r, err := crypto.OpenAttachment(context.Background(), h.q, ref, h.ids...)
	if err != nil {
		h.t.Fatalf("open attachment: %v", err)
	}
	sum := sha256.New()
	if _, err := io.Copy(sum, r); err != nil {
		h.t.Fatalf("read attachment: %v", err)
	}
	return hex.EncodeToString(sum.Sum(nil))
}

func sha(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	rand.Read(b)
	return b
}

// keyboardData returns the callback data of every button of a bot
// message's keyboard.
func keyboardData(markup string) []string {
	var kb struct {
		Rows [][]struct {
			Data string `json:"callback_data"`
		} `json:"inline_keyboard"`
	}
	json.Unmarshal([]byte(markup), &kb)
	var out []string
	for _, r := range kb.Rows {
		for _, b := range r {
			out = append(out, b.Data)
		}
	}
	return out
}

func containsAny(hay string, needles ...string) string {
	for _, n := range needles {
		if n != "" && strings.Contains(hay, n) {
			return n
		}
	}
	return ""
}
