package telegram

import (
	"context"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/flarehq/flare/internal/testredis"
	"github.com/flarehq/flare/queue"
	"github.com/flarehq/flare/queue/backend"
)

// recQueue is a real queue backend with a thin recorder around it: it
// notes which attachment blobs were written and deleted and which markers
// were remembered, and can make Remember fail, so that tests can check
// what the channel left behind.
type recQueue struct {
	queue.Queue

	mu       sync.Mutex
	blobs    map[string]bool
	chunks   int
	markers  []string
	remember func(key string) error
}

// openQueue opens a real backend: the embedded store in dir (url ""), or
// the given URL.
func openQueue(t testing.TB, url string) *recQueue {
	t.Helper()
	q, err := backend.Open(context.Background(), url)
	if err != nil {
		t.Fatalf("open queue %s: %v", url, err)
	}
	t.Cleanup(func() { q.Close() })
	return &recQueue{Queue: q, blobs: map[string]bool{}}
}

// redisQueue starts a throwaway redis-server and opens it.
func redisQueue(t *testing.T) (*recQueue, *testredis.Server) {
	t.Helper()
	srv := testredis.Start(t)
	return openQueue(t, srv.URL()), srv
}

func (q *recQueue) PutChunk(ctx context.Context, blobID string, index int, data []byte) error {
	q.mu.Lock()
	q.blobs[blobID] = true
	q.chunks++
	q.mu.Unlock()
	return q.Queue.PutChunk(ctx, blobID, index, data)
}

func (q *recQueue) DeleteBlob(ctx context.Context, blobID string) error {
	err := q.Queue.DeleteBlob(ctx, blobID)
	if err == nil {
		q.mu.Lock()
		delete(q.blobs, blobID)
		q.mu.Unlock()
	}
	return err
}

func (q *recQueue) Remember(ctx context.Context, key string, ttl time.Duration) (bool, error) {
	q.mu.Lock()
	fail := q.remember
	q.markers = append(q.markers, key)
	q.mu.Unlock()
	if fail != nil {
		if err := fail(key); err != nil {
			return false, err
		}
	}
	return q.Queue.Remember(ctx, key, ttl)
}

// liveBlobs returns how many blobs were written and not deleted.
func (q *recQueue) liveBlobs() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.blobs)
}

func (q *recQueue) markerKeys() []string {
	q.mu.Lock()
	defer q.mu.Unlock()
	out := append([]string(nil), q.markers...)
	sort.Strings(out)
	return out
}

func (q *recQueue) failRemember(fn func(key string) error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.remember = fn
}

// tips returns every message of the tips stream.
func (q *recQueue) tips() []queue.Message {
	msgs, err := q.List(context.Background(), queue.StreamTips, "", 1000)
	if err != nil {
		panic(err)
	}
	return msgs
}

func (q *recQueue) chunksPut() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.chunks
}
