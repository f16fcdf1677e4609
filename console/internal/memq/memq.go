// Package memq is an in-memory queue.Queue for the console's unit tests.
// It keeps everything in maps behind one mutex and durably stores nothing;
// end-to-end tests use the real backends.
package memq

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/flarehq/flare/queue"
)

// Queue is an in-memory queue.Queue.
type Queue struct {
	mu      sync.Mutex
	seq     int64
	streams map[string][]queue.Message
	chunks  map[string][]byte
	records map[string]record
	logs    map[string][][]byte
	seen    map[string]time.Time
}

type record struct {
	val []byte
	ver int64
}

// New returns an empty Queue.
func New() *Queue {
	return &Queue{
		streams: map[string][]queue.Message{},
		chunks:  map[string][]byte{},
		records: map[string]record{},
		logs:    map[string][][]byte{},
		seen:    map[string]time.Time{},
	}
}

func (q *Queue) Enqueue(ctx context.Context, stream string, body []byte) (string, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.seq++
	now := time.Now()
	id := fmt.Sprintf("%d-%d", now.UnixMilli(), q.seq)
	q.streams[stream] = append(q.streams[stream], queue.Message{ID: id, Body: append([]byte(nil), body...), Enqueued: now.Truncate(time.Millisecond)})
	return id, nil
}

func (q *Queue) Read(ctx context.Context, stream string, opts queue.ReadOptions) ([]queue.Message, error) {
	return nil, fmt.Errorf("memq: Read not supported")
}

func (q *Queue) Ack(ctx context.Context, stream, group string, ids ...string) error { return nil }

func (q *Queue) Get(ctx context.Context, stream, id string) (queue.Message, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	for _, m := range q.streams[stream] {
		if m.ID == id {
			return m, nil
		}
	}
	return queue.Message{}, queue.ErrNotFound
}

func (q *Queue) List(ctx context.Context, stream, after string, count int) ([]queue.Message, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	var out []queue.Message
	for _, m := range q.streams[stream] {
		if after != "" && queue.CompareIDs(m.ID, after) <= 0 {
			continue
		}
		out = append(out, m)
		if len(out) == count {
			break
		}
	}
	return out, nil
}

func (q *Queue) PutChunk(ctx context.Context, blobID string, index int, data []byte) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.chunks[fmt.Sprintf("%s/%d", blobID, index)] = append([]byte(nil), data...)
	return nil
}

func (q *Queue) GetChunk(ctx context.Context, blobID string, index int) ([]byte, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	c, ok := q.chunks[fmt.Sprintf("%s/%d", blobID, index)]
	if !ok {
		return nil, queue.ErrNotFound
	}
	return c, nil
}

func (q *Queue) DeleteBlob(ctx context.Context, blobID string) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	for k := range q.chunks {
		if strings.HasPrefix(k, blobID+"/") {
			delete(q.chunks, k)
		}
	}
	return nil
}

func (q *Queue) GetRecord(ctx context.Context, key string) ([]byte, int64, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	r, ok := q.records[key]
	if !ok {
		return nil, 0, queue.ErrNotFound
	}
	return r.val, r.ver, nil
}

func (q *Queue) PutRecord(ctx context.Context, key string, value []byte, version int64) (int64, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.records[key].ver != version {
		return 0, queue.ErrConflict
	}
	q.records[key] = record{val: append([]byte(nil), value...), ver: version + 1}
	return version + 1, nil
}

func (q *Queue) AppendLog(ctx context.Context, key string, entry []byte) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.logs[key] = append(q.logs[key], append([]byte(nil), entry...))
	return nil
}

func (q *Queue) LogEntries(ctx context.Context, key string) ([][]byte, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	return append([][]byte(nil), q.logs[key]...), nil
}

func (q *Queue) ListRecords(ctx context.Context, prefix string) ([]string, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	var out []string
	for k := range q.records {
		if strings.HasPrefix(k, prefix) {
			out = append(out, k)
		}
	}
	return out, nil
}

func (q *Queue) Remember(ctx context.Context, key string, ttl time.Duration) (bool, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if t, ok := q.seen[key]; ok && time.Now().Before(t) {
		return false, nil
	}
	q.seen[key] = time.Now().Add(ttl)
	return true, nil
}

// Dump returns every byte the queue holds, for sentinel scans.
func (q *Queue) Dump() []byte {
	q.mu.Lock()
	defer q.mu.Unlock()
	var b []byte
	for _, ms := range q.streams {
		for _, m := range ms {
			b = append(b, m.Body...)
		}
	}
	for k, c := range q.chunks {
		b = append(append(b, k...), c...)
	}
	for k, r := range q.records {
		b = append(append(b, k...), r.val...)
	}
	for k, es := range q.logs {
		b = append(b, k...)
		for _, e := range es {
			b = append(b, e...)
		}
	}
	return b
}

func (q *Queue) Close() error { return nil }

var _ queue.Queue = (*Queue)(nil)
