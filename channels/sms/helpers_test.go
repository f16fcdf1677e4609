package sms

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"filippo.io/age"

	"github.com/flarehq/flare/channels"
	"github.com/flarehq/flare/channels/catalog"
	"github.com/flarehq/flare/crypto"
	"github.com/flarehq/flare/gateway"
	"github.com/flarehq/flare/queue"
)

// memQueue is an in-memory queue.Queue for unit tests of the channel's
// logic; it keeps everything it is given so that a test can scan it.
type memQueue struct {
	mu       sync.Mutex
	streams  map[string][]queue.Message
	chunks   map[string][]byte
	records  map[string][]byte
	versions map[string]int64
	logs     map[string][][]byte
	seen     map[string]time.Time
	seq      int
	failNext error // Enqueue fails once with this
}

func newMemQueue() *memQueue {
	return &memQueue{
		streams: map[string][]queue.Message{}, chunks: map[string][]byte{},
		records: map[string][]byte{}, versions: map[string]int64{},
		logs: map[string][][]byte{}, seen: map[string]time.Time{},
	}
}

func (q *memQueue) Enqueue(ctx context.Context, stream string, body []byte) (string, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if err := q.failNext; err != nil {
		q.failNext = nil
		return "", err
	}
	q.seq++
	id := fmt.Sprintf("%d-0", q.seq)
	q.streams[stream] = append(q.streams[stream], queue.Message{ID: id, Body: append([]byte(nil), body...), Enqueued: time.Now()})
	return id, nil
}

func (q *memQueue) Read(ctx context.Context, stream string, opts queue.ReadOptions) ([]queue.Message, error) {
	return nil, fmt.Errorf("memQueue: Read not used by the sms channel")
}
func (q *memQueue) Ack(ctx context.Context, stream, group string, ids ...string) error { return nil }
func (q *memQueue) Get(ctx context.Context, stream, id string) (queue.Message, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	for _, m := range q.streams[stream] {
		if m.ID == id {
			return m, nil
		}
	}
	return queue.Message{}, queue.ErrNotFound
}
func (q *memQueue) List(ctx context.Context, stream, after string, count int) ([]queue.Message, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	var out []queue.Message
	for _, m := range q.streams[stream] {
		if after == "" || queue.CompareIDs(m.ID, after) > 0 {
			out = append(out, m)
		}
	}
	return out, nil
}
func (q *memQueue) PutChunk(ctx context.Context, blobID string, index int, data []byte) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.chunks[fmt.Sprintf("%s/%d", blobID, index)] = append([]byte(nil), data...)
	return nil
}
func (q *memQueue) GetChunk(ctx context.Context, blobID string, index int) ([]byte, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	c, ok := q.chunks[fmt.Sprintf("%s/%d", blobID, index)]
	if !ok {
		return nil, queue.ErrNotFound
	}
	return c, nil
}
func (q *memQueue) DeleteBlob(ctx context.Context, blobID string) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	for k := range q.chunks {
		if strings.HasPrefix(k, blobID+"/") {
			delete(q.chunks, k)
		}
	}
	return nil
}
func (q *memQueue) GetRecord(ctx context.Context, key string) ([]byte, int64, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	v, ok := q.records[key]
	if !ok {
		return nil, 0, queue.ErrNotFound
	}
	return v, q.versions[key], nil
}
func (q *memQueue) PutRecord(ctx context.Context, key string, value []byte, version int64) (int64, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.versions[key] != version {
		return 0, queue.ErrConflict
	}
	q.records[key] = append([]byte(nil), value...)
	q.versions[key]++
	return q.versions[key], nil
}
func (q *memQueue) AppendLog(ctx context.Context, key string, entry []byte) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.logs[key] = append(q.logs[key], entry)
	return nil
}
func (q *memQueue) LogEntries(ctx context.Context, key string) ([][]byte, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.logs[key], nil
}
func (q *memQueue) ListRecords(ctx context.Context, prefix string) ([]string, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	var out []string
	for k := range q.records {
		if strings.HasPrefix(k, prefix) {
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return out, nil
}
func (q *memQueue) Remember(ctx context.Context, key string, ttl time.Duration) (bool, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if exp, ok := q.seen[key]; ok && time.Now().Before(exp) {
		return false, nil
	}
	q.seen[key] = time.Now().Add(ttl)
	return true, nil
}
func (q *memQueue) Close() error { return nil }

// dump returns everything the queue holds, for sentinel scans.
func (q *memQueue) dump() []byte {
	q.mu.Lock()
	defer q.mu.Unlock()
	var b bytes.Buffer
	for s, ms := range q.streams {
		b.WriteString(s)
		for _, m := range ms {
			b.WriteString(m.ID)
			b.Write(m.Body)
		}
	}
	for k, v := range q.chunks {
		b.WriteString(k)
		b.Write(v)
	}
	for k, v := range q.records {
		b.WriteString(k)
		b.Write(v)
	}
	for k, es := range q.logs {
		b.WriteString(k)
		for _, e := range es {
			b.Write(e)
		}
	}
	for k := range q.seen {
		b.WriteString(k)
	}
	return b.Bytes()
}

// testEnv is a channel wired to a real intake and sealer, a queue, and a
// key-holder identity that opens what it seals.
type testEnv struct {
	t         testing.TB
	ch        *Channel
	q         queue.Queue
	ids       []age.Identity
	recipient age.Recipient
	logs      *syncBuffer
	srv       *httptest.Server
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func newTestEnv(t testing.TB, cfg Config, q queue.Queue) *testEnv {
	t.Helper()
	idFile, recipient, err := crypto.NewIdentity(false, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	ids, err := crypto.ParseIdentities(idFile, nil)
	if err != nil {
		t.Fatal(err)
	}
	r, err := crypto.ParseRecipient(recipient)
	if err != nil {
		t.Fatal(err)
	}
	return newTestEnvWith(t, cfg, q, ids, r)
}

func newTestEnvWith(t testing.TB, cfg Config, q queue.Queue, ids []age.Identity, r age.Recipient) *testEnv {
	t.Helper()
	sealer, err := crypto.NewSealer(r)
	if err != nil {
		t.Fatal(err)
	}
	logs := &syncBuffer{}
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
