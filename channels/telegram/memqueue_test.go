package telegram

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"time"

	"github.com/flarehq/flare/queue"
)

// memQueue is a small queue.Queue for these tests, until the embedded and
// Redis backends are on main. Like a real backend it writes everything it
// is given to a file in its data directory, so that the sentinel scan sees
// exactly what the channel and the gateway store.
type memQueue struct {
	mu       sync.Mutex
	file     *os.File
	streams  map[string][]queue.Message
	chunks   map[string]map[int][]byte
	markers  map[string]time.Time
	records  map[string][]byte
	logs     map[string][][]byte
	nextID   int
	remember func(key string) error // fault injection
}

func newMemQueue(dir string) (*memQueue, error) {
	f, err := os.Create(filepath.Join(dir, "queue.store"))
	if err != nil {
		return nil, err
	}
	return &memQueue{
		file:    f,
		streams: map[string][]queue.Message{},
		chunks:  map[string]map[int][]byte{},
		markers: map[string]time.Time{},
		records: map[string][]byte{},
		logs:    map[string][][]byte{},
	}, nil
}

func (q *memQueue) persist(kind, key string, data []byte) error {
	if _, err := fmt.Fprintf(q.file, "%s %s %d\n", kind, key, len(data)); err != nil {
		return err
	}
	if _, err := q.file.Write(data); err != nil {
		return err
	}
	return q.file.Sync()
}

func (q *memQueue) Enqueue(ctx context.Context, stream string, body []byte) (string, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.nextID++
	id := fmt.Sprintf("%d-%d", time.Now().UnixMilli(), q.nextID)
	if err := q.persist("enqueue", stream+"/"+id, body); err != nil {
		return "", err
	}
	q.streams[stream] = append(q.streams[stream], queue.Message{ID: id, Body: append([]byte(nil), body...), Enqueued: time.Now()})
	return id, nil
}

func (q *memQueue) Read(ctx context.Context, stream string, opts queue.ReadOptions) ([]queue.Message, error) {
	return nil, fmt.Errorf("memQueue: Read not needed by the channel")
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
	if count > 0 && len(out) > count {
		out = out[:count]
	}
	return out, nil
}

func (q *memQueue) PutChunk(ctx context.Context, blobID string, index int, data []byte) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	if err := q.persist("chunk", fmt.Sprintf("%s/%d", blobID, index), data); err != nil {
		return err
	}
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

func (q *memQueue) blobs() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.chunks)
}

func (q *memQueue) GetRecord(ctx context.Context, key string) ([]byte, int64, error) {
	return nil, 0, queue.ErrNotFound
}

func (q *memQueue) PutRecord(ctx context.Context, key string, value []byte, version int64) (int64, error) {
	return 0, fmt.Errorf("memQueue: records not needed by the channel")
}

func (q *memQueue) AppendLog(ctx context.Context, key string, entry []byte) error { return nil }

func (q *memQueue) LogEntries(ctx context.Context, key string) ([][]byte, error) { return nil, nil }

func (q *memQueue) ListRecords(ctx context.Context, prefix string) ([]string, error) {
	return nil, nil
}

func (q *memQueue) Remember(ctx context.Context, key string, ttl time.Duration) (bool, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.remember != nil {
		if err := q.remember(key); err != nil {
			return false, err
		}
	}
	if t, ok := q.markers[key]; ok && time.Now().Before(t) {
		return false, nil
	}
	if err := q.persist("marker", key, nil); err != nil {
		return false, err
	}
	q.markers[key] = time.Now().Add(ttl)
	return true, nil
}

func (q *memQueue) markerKeys() []string {
	q.mu.Lock()
	defer q.mu.Unlock()
	var out []string
	for k := range q.markers {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func (q *memQueue) tips() []queue.Message {
	q.mu.Lock()
	defer q.mu.Unlock()
	return append([]queue.Message(nil), q.streams[queue.StreamTips]...)
}

func (q *memQueue) Close() error { return q.file.Close() }

var _ queue.Queue = (*memQueue)(nil)
