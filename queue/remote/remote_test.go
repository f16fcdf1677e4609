package remote

import (
	"context"
	"errors"
	"net"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/flarehq/flare/internal/memq"
	"github.com/flarehq/flare/queue"
)

// TestClientHandler: what a console needs passes through (tips, chunks,
// records with their versions and conflicts, history); the outbox and
// every write but triage are refused.
func TestClientHandler(t *testing.T) {
	ctx := context.Background()
	q := memq.New()
	id1, _ := q.Enqueue(ctx, queue.StreamTips, []byte("sealed one"))
	q.Enqueue(ctx, queue.StreamTips, []byte("sealed two"))
	q.Enqueue(ctx, queue.StreamOutbox, []byte("sealed reply"))
	q.PutChunk(ctx, "blob", 0, []byte("chunk"))
	srv := httptest.NewServer(Handler(q))
	defer srv.Close()
	c := NewClient(srv.URL, (&net.Dialer{}).DialContext)
	defer c.Close()

	msgs, err := c.List(ctx, queue.StreamTips, "", 10)
	if err != nil || len(msgs) != 2 || string(msgs[0].Body) != "sealed one" {
		t.Fatalf("list: %v %+v", err, msgs)
	}
	if m, err := c.Get(ctx, queue.StreamTips, id1); err != nil || string(m.Body) != "sealed one" {
		t.Fatalf("get: %v", err)
	}
	if _, err := c.List(ctx, queue.StreamOutbox, "", 10); err == nil {
		t.Error("the outbox was listed to a console")
	}
	if b, err := c.GetChunk(ctx, "blob", 0); err != nil || string(b) != "chunk" {
		t.Errorf("chunk: %q %v", b, err)
	}
	if _, err := c.GetChunk(ctx, "blob", 1); !errors.Is(err, queue.ErrNotFound) {
		t.Errorf("missing chunk: %v", err)
	}
	v, err := c.PutRecord(ctx, "triage:1", []byte("sealed record"), 0)
	if err != nil || v != 1 {
		t.Fatalf("put record: %d %v", v, err)
	}
	if _, err := c.PutRecord(ctx, "triage:1", []byte("stale"), 0); !errors.Is(err, queue.ErrConflict) {
		t.Errorf("stale put: %v, want ErrConflict", err)
	}
	if val, ver, err := c.GetRecord(ctx, "triage:1"); err != nil || ver != 1 || string(val) != "sealed record" {
		t.Errorf("get record: %q %d %v", val, ver, err)
	}
	if keys, err := c.ListRecords(ctx, "triage:"); err != nil || len(keys) != 1 {
		t.Errorf("list records: %v %v", keys, err)
	}
	if err := c.AppendLog(ctx, "h:1", []byte("entry")); err != nil {
		t.Fatal(err)
	}
	if e, err := c.LogEntries(ctx, "h:1"); err != nil || len(e) != 1 || string(e[0]) != "entry" {
		t.Errorf("log: %v %v", e, err)
	}
	for name, err := range map[string]error{
		"enqueue":     func() error { _, err := c.Enqueue(ctx, queue.StreamTips, []byte("x")); return err }(),
		"read":        func() error { _, err := c.Read(ctx, queue.StreamOutbox, queue.ReadOptions{Group: "g"}); return err }(),
		"ack":         c.Ack(ctx, queue.StreamOutbox, "g", "1-0"),
		"put chunk":   c.PutChunk(ctx, "blob", 0, []byte("x")),
		"delete blob": c.DeleteBlob(ctx, "blob"),
		"remember":    func() error { _, err := c.Remember(ctx, "k", 0); return err }(),
	} {
		if !errors.Is(err, ErrReadOnly) {
			t.Errorf("%s: %v, want ErrReadOnly", name, err)
		}
	}
	if b, _ := q.GetChunk(ctx, "blob", 0); string(b) != "chunk" {
		t.Error("the store changed")
	}
}

func TestOpenURL(t *testing.T) {
	good := strings.Repeat("a", 56) + ".onion"
	for _, tt := range []struct {
		url string
		ok  bool
	}{
		{"onion://" + good, true},
		{"onion://" + good + "?socks=127.0.0.1:9150", true},
		{"onion://example.org", false},
		{"onion://" + good + "?socks=203.0.113.1:9050", false},
		{"http://" + good, false},
	} {
		_, err := OpenURL(tt.url)
		if (err == nil) != tt.ok {
			t.Errorf("%s: %v", tt.url, err)
		}
	}
}
