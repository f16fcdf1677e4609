package sms

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"filippo.io/age"

	"github.com/flarehq/flare/channels"
	"github.com/flarehq/flare/channels/catalog"
	"github.com/flarehq/flare/crypto"
	"github.com/flarehq/flare/gateway"
	"github.com/flarehq/flare/internal/memq"
	"github.com/flarehq/flare/internal/testkit"
	"github.com/flarehq/flare/queue"
)

// memQueue is internal/memq with one failure hook: when failNext is set,
// the next Enqueue fails with it, as a full disk or a lost Redis would.
type memQueue struct {
	*memq.Queue
	mu       sync.Mutex
	failNext error
}

func newMemQueue() *memQueue { return &memQueue{Queue: memq.New()} }

func (q *memQueue) Enqueue(ctx context.Context, stream string, body []byte) (string, error) {
	q.mu.Lock()
	err := q.failNext
	q.failNext = nil
	q.mu.Unlock()
	if err != nil {
		return "", err
	}
	return q.Queue.Enqueue(ctx, stream, body)
}

// failNextEnqueue makes the next Enqueue fail with err.
func (q *memQueue) failNextEnqueue(err error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.failNext = err
}

// testEnv is a channel wired to a real intake and sealer, a queue, and a
// key-holder identity that opens what it seals.
type testEnv struct {
	t         testing.TB
	ch        *Channel
	q         queue.Queue
	ids       []age.Identity
	recipient age.Recipient
	logs      *testkit.Buffer
	srv       *httptest.Server
}

func newTestEnv(t testing.TB, cfg Config, q queue.Queue) *testEnv {
	t.Helper()
	k := testkit.NewKeyHolder(t)
	return newTestEnvWith(t, cfg, q, k.Identities, k.Recipient)
}

func newTestEnvWith(t testing.TB, cfg Config, q queue.Queue, ids []age.Identity, r age.Recipient) *testEnv {
	t.Helper()
	sealer, err := crypto.NewSealer(r)
	if err != nil {
		t.Fatal(err)
	}
	logs := &testkit.Buffer{}
	log := slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	intake, err := gateway.NewIntake(gateway.IntakeConfig{Sealer: sealer, Queue: q, Log: log})
	if err != nil {
		t.Fatal(err)
	}
	hasher, err := channels.NewHasher(bytes.Repeat([]byte{7}, 32))
	if err != nil {
		t.Fatal(err)
	}
	ch, err := New(cfg, channels.Deps{Sink: intake, Queue: q, Hasher: hasher, Catalog: catalog.New(nil), Log: log})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	ch.Routes(mux)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return &testEnv{t: t, ch: ch, q: q, ids: ids, recipient: r, logs: logs, srv: srv}
}

// do sends a request to the channel and returns status and body.
func (e *testEnv) do(method, target, contentType string, body []byte, headers map[string]string) (int, string) {
	e.t.Helper()
	req, err := http.NewRequest(method, e.srv.URL+target, bytes.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := e.srv.Client().Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// tips opens every queued tip.
func (e *testEnv) tips() []*crypto.Tip {
	e.t.Helper()
	msgs, err := e.q.List(context.Background(), queue.StreamTips, "", 1000)
	if err != nil {
		e.t.Fatal(err)
	}
	var out []*crypto.Tip
	for _, m := range msgs {
		tip, err := crypto.OpenTip(m.Body, e.ids...)
		if err != nil {
			e.t.Fatalf("open tip %s: %v", m.ID, err)
		}
		out = append(out, tip)
	}
	return out
}

func (e *testEnv) queued() int {
	e.t.Helper()
	msgs, err := e.q.List(context.Background(), queue.StreamTips, "", 1000)
	if err != nil {
		e.t.Fatal(err)
	}
	return len(msgs)
}

// attachment decrypts a tip's attachment.
func (e *testEnv) attachment(ref crypto.AttachmentRef) []byte {
	e.t.Helper()
	r, err := crypto.OpenAttachment(context.Background(), e.q, ref, e.ids...)
	if err != nil {
		e.t.Fatal(err)
	}
	b, err := io.ReadAll(r)
	if err != nil {
		e.t.Fatal(err)
	}
	return b
}
