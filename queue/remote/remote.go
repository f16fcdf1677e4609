// Package remote lets a key-holder's console use a gateway's embedded store
// from another machine: Handler serves the store's sealed tips, attachment
// chunks and triage records over HTTP, and Client is a queue.Queue that
// speaks to it. The gateway serves Handler on a loopback address that only
// a Tor onion service with client authorization publishes, so only
// key-holders' devices can even find it; the console reaches it through its
// own tor's SOCKS port with "onion://ADDRESS.onion".
//
// It moves only what the store holds: age ciphertext and sealed triage
// records. A console can read tips and chunks, and read and write triage
// records and history; it cannot add, read as a consumer, acknowledge or
// delete anything (those methods of Client return ErrReadOnly).
package remote

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/flarehq/flare/queue"
)

// ErrReadOnly is returned for what a remote console may not do.
var ErrReadOnly = errors.New("remote store: not allowed for a console")

// maxBody bounds a request body (a sealed triage record or history entry)
// and a response (a page of tips).
const maxBody = 64 << 20

type message struct {
	ID       string    `json:"id"`
	Body     []byte    `json:"body"`
	Enqueued time.Time `json:"enqueued"`
}

type record struct {
	Value   []byte `json:"value"`
	Version int64  `json:"version"`
}

// Handler serves q's tips (read only) and records (read and write).
func Handler(q queue.Queue) http.Handler {
	mux := http.NewServeMux()
	fail := func(w http.ResponseWriter, err error) {
		switch {
		case errors.Is(err, queue.ErrNotFound):
			http.Error(w, "not found", http.StatusNotFound)
		case errors.Is(err, queue.ErrConflict):
			http.Error(w, "conflict", http.StatusConflict)
		case errors.Is(err, queue.ErrInvalidID):
			http.Error(w, "invalid id", http.StatusBadRequest)
		default:
			http.Error(w, "store error", http.StatusInternalServerError)
		}
	}
	reply := func(w http.ResponseWriter, v any) {
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(v)
	}
	stream := func(r *http.Request) (string, bool) {
		s := r.URL.Query().Get("stream")
		return s, s == queue.StreamTips // consoles read tips, never the outbox
	}
	mux.HandleFunc("GET /v1/list", func(w http.ResponseWriter, r *http.Request) {
		s, ok := stream(r)
		n, err := strconv.Atoi(r.URL.Query().Get("count"))
		if !ok || err != nil || n <= 0 || n > 1000 {
			http.Error(w, "want stream=tips and count 1-1000", http.StatusBadRequest)
			return
		}
		msgs, err := q.List(r.Context(), s, r.URL.Query().Get("after"), n)
		if err != nil {
			fail(w, err)
			return
		}
		out := make([]message, len(msgs))
		for i, m := range msgs {
			out[i] = message{m.ID, m.Body, m.Enqueued}
		}
		reply(w, out)
	})
	mux.HandleFunc("GET /v1/get", func(w http.ResponseWriter, r *http.Request) {
		s, ok := stream(r)
		if !ok {
			http.Error(w, "want stream=tips", http.StatusBadRequest)
			return
		}
		m, err := q.Get(r.Context(), s, r.URL.Query().Get("id"))
		if err != nil {
			fail(w, err)
			return
		}
		reply(w, message{m.ID, m.Body, m.Enqueued})
	})
	mux.HandleFunc("GET /v1/chunk", func(w http.ResponseWriter, r *http.Request) {
		i, err := strconv.Atoi(r.URL.Query().Get("index"))
		if err != nil || i < 0 {
			http.Error(w, "bad index", http.StatusBadRequest)
			return
		}
		b, err := q.GetChunk(r.Context(), r.URL.Query().Get("blob"), i)
		if err != nil {
			fail(w, err)
			return
		}
		w.Header().Set("Content-Type", "application/octet-stream")
		w.Write(b)
	})
	mux.HandleFunc("GET /v1/record", func(w http.ResponseWriter, r *http.Request) {
		v, ver, err := q.GetRecord(r.Context(), r.URL.Query().Get("key"))
		if err != nil {
			fail(w, err)
			return
		}
		reply(w, record{v, ver})
	})
	mux.HandleFunc("PUT /v1/record", func(w http.ResponseWriter, r *http.Request) {
		var rec record
		if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBody)).Decode(&rec); err != nil {
			http.Error(w, "bad record", http.StatusBadRequest)
			return
		}
		ver, err := q.PutRecord(r.Context(), r.URL.Query().Get("key"), rec.Value, rec.Version)
		if err != nil {
			fail(w, err)
			return
		}
		reply(w, record{Version: ver})
	})
	mux.HandleFunc("GET /v1/records", func(w http.ResponseWriter, r *http.Request) {
		keys, err := q.ListRecords(r.Context(), r.URL.Query().Get("prefix"))
		if err != nil {
			fail(w, err)
			return
		}
		reply(w, keys)
	})
	mux.HandleFunc("GET /v1/log", func(w http.ResponseWriter, r *http.Request) {
		entries, err := q.LogEntries(r.Context(), r.URL.Query().Get("key"))
		if err != nil {
			fail(w, err)
			return
		}
		reply(w, entries)
	})
	mux.HandleFunc("POST /v1/log", func(w http.ResponseWriter, r *http.Request) {
		b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
		if err != nil || len(b) == 0 {
			http.Error(w, "bad entry", http.StatusBadRequest)
			return
		}
		if err := q.AppendLog(r.Context(), r.URL.Query().Get("key"), b); err != nil {
			fail(w, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
	return mux
}

// Client is a queue.Queue served by Handler at base, reached with dial
// (through tor's SOCKS port for an onion address).
type Client struct {
	base string
	hc   *http.Client
}

var _ queue.Queue = (*Client)(nil)

// NewClient returns a Client for base ("http://ADDRESS.onion") that opens
// connections with dial.
func NewClient(base string, dial func(ctx context.Context, network, addr string) (net.Conn, error)) *Client {
	return &Client{base: base, hc: &http.Client{
		Timeout:   2 * time.Minute, // onion circuits are slow to build
		Transport: &http.Transport{DialContext: dial, MaxIdleConnsPerHost: 4, IdleConnTimeout: time.Minute},
	}}
}

func (c *Client) do(ctx context.Context, method, path string, q url.Values, body []byte, out any) error {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path+"?"+q.Encode(), rd)
	if err != nil {
		return fmt.Errorf("remote store: %w", err)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return fmt.Errorf("remote store: %w", err)
	}
	defer resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusOK, http.StatusNoContent:
	case http.StatusNotFound:
		return queue.ErrNotFound
	case http.StatusConflict:
		return queue.ErrConflict
	default:
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 200))
		return fmt.Errorf("remote store: %s: %s", resp.Status, bytes.TrimSpace(msg))
	}
	if out == nil {
		return nil
	}
	if b, ok := out.(*[]byte); ok {
		*b, err = io.ReadAll(io.LimitReader(resp.Body, maxBody))
		return err
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, maxBody)).Decode(out); err != nil {
		return fmt.Errorf("remote store: %w", err)
	}
	return nil
}

// List implements queue.Queue.
func (c *Client) List(ctx context.Context, stream, after string, count int) ([]queue.Message, error) {
	var ms []message
	if err := c.do(ctx, "GET", "/v1/list", url.Values{"stream": {stream}, "after": {after}, "count": {strconv.Itoa(count)}}, nil, &ms); err != nil {
		return nil, err
	}
	out := make([]queue.Message, len(ms))
	for i, m := range ms {
		out[i] = queue.Message{ID: m.ID, Body: m.Body, Enqueued: m.Enqueued}
	}
	return out, nil
}

// Get implements queue.Queue.
func (c *Client) Get(ctx context.Context, stream, id string) (queue.Message, error) {
	var m message
	if err := c.do(ctx, "GET", "/v1/get", url.Values{"stream": {stream}, "id": {id}}, nil, &m); err != nil {
		return queue.Message{}, err
	}
	return queue.Message{ID: m.ID, Body: m.Body, Enqueued: m.Enqueued}, nil
}

// GetChunk implements queue.ChunkStore.
func (c *Client) GetChunk(ctx context.Context, blobID string, index int) ([]byte, error) {
	var b []byte
	err := c.do(ctx, "GET", "/v1/chunk", url.Values{"blob": {blobID}, "index": {strconv.Itoa(index)}}, nil, &b)
	return b, err
}

// GetRecord implements queue.Records.
func (c *Client) GetRecord(ctx context.Context, key string) ([]byte, int64, error) {
	var r record
	if err := c.do(ctx, "GET", "/v1/record", url.Values{"key": {key}}, nil, &r); err != nil {
		return nil, 0, err
	}
	return r.Value, r.Version, nil
}

// PutRecord implements queue.Records.
func (c *Client) PutRecord(ctx context.Context, key string, value []byte, version int64) (int64, error) {
	body, _ := json.Marshal(record{value, version})
	var r record
	if err := c.do(ctx, "PUT", "/v1/record", url.Values{"key": {key}}, body, &r); err != nil {
		return 0, err
	}
	return r.Version, nil
}

// AppendLog implements queue.Records.
func (c *Client) AppendLog(ctx context.Context, key string, entry []byte) error {
	return c.do(ctx, "POST", "/v1/log", url.Values{"key": {key}}, entry, nil)
}

// LogEntries implements queue.Records.
func (c *Client) LogEntries(ctx context.Context, key string) ([][]byte, error) {
	var out [][]byte
	err := c.do(ctx, "GET", "/v1/log", url.Values{"key": {key}}, nil, &out)
	return out, err
}

// ListRecords implements queue.Records.
func (c *Client) ListRecords(ctx context.Context, prefix string) ([]string, error) {
	var out []string
	err := c.do(ctx, "GET", "/v1/records", url.Values{"prefix": {prefix}}, nil, &out)
	return out, err
}

// Enqueue is not for consoles.
func (c *Client) Enqueue(context.Context, string, []byte) (string, error) { return "", ErrReadOnly }

// Read is not for consoles: they list, they do not consume.
func (c *Client) Read(context.Context, string, queue.ReadOptions) ([]queue.Message, error) {
	return nil, ErrReadOnly
}

// Ack is not for consoles.
func (c *Client) Ack(context.Context, string, string, ...string) error { return ErrReadOnly }

// PutChunk is not for consoles.
func (c *Client) PutChunk(context.Context, string, int, []byte) error { return ErrReadOnly }

// DeleteBlob is not for consoles.
func (c *Client) DeleteBlob(context.Context, string) error { return ErrReadOnly }

// CommitBlobs is not for consoles.
func (c *Client) CommitBlobs(context.Context, ...string) error { return ErrReadOnly }

// SweepBlobs is not for consoles.
func (c *Client) SweepBlobs(context.Context, time.Time) (int, error) { return 0, ErrReadOnly }

// Delete is not for consoles over the onion: deleting tips and outbox
// entries stays with key-holders who reach the store itself.
func (c *Client) Delete(context.Context, string, ...string) error { return ErrReadOnly }

// DeleteRecord is not for consoles over the onion (see Delete).
func (c *Client) DeleteRecord(context.Context, string) error { return ErrReadOnly }

// Remember is not for consoles.
func (c *Client) Remember(context.Context, string, time.Duration) (bool, error) {
	return false, ErrReadOnly
}

// Close closes idle connections.
func (c *Client) Close() error { c.hc.CloseIdleConnections(); return nil }
