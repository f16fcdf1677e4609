package onion

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/flarehq/flare/queue"
)

// memQueue is an in-memory queue.Queue for this package's tests: the
// onion channel only needs the gateway's intake to enqueue sealed tips
// and chunks, and the tests to read them back. It stands in until the
// real backends (queue/embedded) are on main.
type memQueue struct {
	mu      sync.Mutex
	streams map[string][]queue.Message
	chunks  map[string]map[int][]byte
	seq     int
}

func newMemQueue() *memQueue {
	return &memQueue{streams: map[string][]queue.Message{}, chunks: map[string]map[int][]byte{}}
}

func (q *memQueue) Enqueue(ctx context.Context, stream string, body []byte) (string, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.seq++
	id := fmt.Sprintf("%d-%d", time.Now().UnixMilli(), q.seq)
	q.streams[stream] = append(q.streams[stream], queue.Message{ID: id, Body: append([]byte(nil), body...), Enqueued: time.Now()})
	return id, nil
}

func (q *memQueue) List(ctx context.Context, stream, after string, count int) ([]queue.Message, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	var out []queue.Message
	for _, m := range q.streams[stream] {
		if (after == "" || queue.CompareIDs(m.ID, after) > 0) && len(out) < count {
			out = append(out, m)
		}
	}
	return out, nil
}

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

func (q *memQueue) PutChunk(ctx context.Context, blobID string, index int, data []byte) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.chunks[blobID] == nil {
		q.chunks[blobID] = map[int][]byte{}
	}
	q.chunks[blobID][index] = append([]byte(nil), data...)
	return nil
}

func (q *memQueue) GetChunk(ctx context.Context, blobID string, index int) ([]byte, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	c, ok := q.chunks[blobID][index]
	if !ok {
		return nil, queue.ErrNotFound
	}
	return c, nil
}

func (q *memQueue) DeleteBlob(ctx context.Context, blobID string) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	delete(q.chunks, blobID)
	return nil
}

// What the onion tests never reach.
func (q *memQueue) Read(context.Context, string, queue.ReadOptions) ([]queue.Message, error) {
	return nil, nil
}
func (q *memQueue) Ack(context.Context, string, string, ...string) error { return nil }
func (q *memQueue) GetRecord(context.Context, string) ([]byte, int64, error) {
	return nil, 0, queue.ErrNotFound
}
func (q *memQueue) PutRecord(context.Context, string, []byte, int64) (int64, error) {
	return 0, queue.ErrConflict
}
func (q *memQueue) AppendLog(context.Context, string, []byte) error               { return nil }
func (q *memQueue) LogEntries(context.Context, string) ([][]byte, error)          { return nil, nil }
func (q *memQueue) ListRecords(context.Context, string) ([]string, error)         { return nil, nil }
func (q *memQueue) Remember(context.Context, string, time.Duration) (bool, error) { return true, nil }
func (q *memQueue) Close() error                                                  { return nil }
