// Package memq is an in-memory queue.Queue for unit tests of the console
// and the channels. It keeps everything in maps behind one mutex, stores
// nothing durably, and Dump hands a test every byte it holds, for sentinel
// scans.
//
// What it deliberately does not do: Read. It has no consumer groups,
// pending entries, redelivery or blocking reads; a test of a consumer, and
// every end-to-end test, uses the real backends (queue/embedded,
// queue/redis).
package memq

import (
	"context"
	"fmt"
	"slices"
	"strconv"
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
	blobs   map[string]*blob
	records map[string]record
	logs    map[string][][]byte
	seen    map[string]time.Time
	closed  bool
}

// blob is what the queue knows about a blob outside the seal.
type blob struct {
	created   int64 // queue.HourMillis of its first chunk
	committed bool
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
		blobs:   map[string]*blob{},
		records: map[string]record{},
		logs:    map[string][][]byte{},
		seen:    map[string]time.Time{},
	}
}

func (q *Queue) Enqueue(ctx context.Context, stream string, body []byte) (string, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closed {
		return "", queue.ErrClosed
	}
	// Like the real backends, ids carry the hour only; one sequence for
	// every stream keeps them ordered.
	q.seq++
	hour := queue.HourMillis(time.Now())
	if last := q.streams[stream]; len(last) > 0 {
		ms, _, _ := strings.Cut(last[len(last)-1].ID, "-")
		if n, err := strconv.ParseInt(ms, 10, 64); err == nil && n > hour {
			hour = n
		}
	}
	id := fmt.Sprintf("%d-%d", hour, q.seq)
	q.streams[stream] = append(q.streams[stream], queue.Message{ID: id, Body: append([]byte(nil), body...), Enqueued: time.UnixMilli(queue.HourMillis(time.UnixMilli(hour))).UTC()})
	return id, nil
}

// Read is not supported: memq has no consumer groups.
func (q *Queue) Read(ctx context.Context, stream string, opts queue.ReadOptions) ([]queue.Message, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closed {
		return nil, queue.ErrClosed
	}
	return nil, fmt.Errorf("memq: Read not supported")
}

// Ack checks ids and does nothing else: nothing is ever pending.
func (q *Queue) Ack(ctx context.Context, stream, group string, ids ...string) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closed {
		return queue.ErrClosed
	}
	for _, id := range ids {
		if !validID(id) {
			return fmt.Errorf("memq: ack %q: %w", id, queue.ErrInvalidID)
		}
	}
	return nil
}

func (q *Queue) Get(ctx context.Context, stream, id string) (queue.Message, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closed {
		return queue.Message{}, queue.ErrClosed
	}
	if !validID(id) {
		return queue.Message{}, fmt.Errorf("memq: message id %q: %w (%w)", id, queue.ErrInvalidID, queue.ErrNotFound)
	}
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
	if q.closed {
		return nil, queue.ErrClosed
	}
	if after != "" && !validID(after) {
		return nil, fmt.Errorf("memq: list after %q: %w", after, queue.ErrInvalidID)
	}
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
	if q.closed {
		return queue.ErrClosed
	}
	if q.blobs[blobID] == nil {
		q.blobs[blobID] = &blob{created: queue.HourMillis(time.Now())}
	}
	q.chunks[fmt.Sprintf("%s/%d", blobID, index)] = append([]byte(nil), data...)
	return nil
}

func (q *Queue) GetChunk(ctx context.Context, blobID string, index int) ([]byte, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closed {
		return nil, queue.ErrClosed
	}
	c, ok := q.chunks[fmt.Sprintf("%s/%d", blobID, index)]
	if !ok {
		return nil, queue.ErrNotFound
	}
	return c, nil
}

func (q *Queue) DeleteBlob(ctx context.Context, blobID string) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closed {
		return queue.ErrClosed
	}
	q.deleteBlob(blobID)
	return nil
}

func (q *Queue) deleteBlob(blobID string) {
	for k := range q.chunks {
		if strings.HasPrefix(k, blobID+"/") {
			delete(q.chunks, k)
		}
	}
	delete(q.blobs, blobID)
}

func (q *Queue) CommitBlobs(ctx context.Context, blobIDs ...string) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closed {
		return queue.ErrClosed
	}
	missing := 0
	for _, id := range blobIDs {
		if b := q.blobs[id]; b != nil {
			b.committed = true
		} else {
			missing++
		}
	}
	if missing > 0 {
		return fmt.Errorf("memq: commit blobs: %d of %d have no chunks: %w", missing, len(blobIDs), queue.ErrNotFound)
	}
	return nil
}

func (q *Queue) SweepBlobs(ctx context.Context, before time.Time) (int, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closed {
		return 0, queue.ErrClosed
	}
	cutoff := queue.SweepCutoff(before)
	removed := 0
	for id, b := range q.blobs {
		if !b.committed && b.created <= cutoff {
			q.deleteBlob(id)
			removed++
		}
	}
	return removed, nil
}

// Times returns every time the queue holds outside message bodies, as
// Unix milliseconds: the ms part of message ids, the expiries of
// remembered keys and the creation times of blobs. Tests check that each
// is hour-aligned, as the real backends store them.
func (q *Queue) Times() []int64 {
	q.mu.Lock()
	defer q.mu.Unlock()
	var out []int64
	for _, ms := range q.streams {
		for _, m := range ms {
			n, _ := strconv.ParseInt(strings.SplitN(m.ID, "-", 2)[0], 10, 64)
			out = append(out, n)
		}
	}
	for _, t := range q.seen {
		out = append(out, t.UnixMilli())
	}
	for _, b := range q.blobs {
		out = append(out, b.created)
	}
	return out
}

func (q *Queue) GetRecord(ctx context.Context, key string) ([]byte, int64, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closed {
		return nil, 0, queue.ErrClosed
	}
	r, ok := q.records[key]
	if !ok {
		return nil, 0, queue.ErrNotFound
	}
	return r.val, r.ver, nil
}

func (q *Queue) PutRecord(ctx context.Context, key string, value []byte, version int64) (int64, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closed {
		return 0, queue.ErrClosed
	}
	if q.records[key].ver != version {
		return 0, queue.ErrConflict
	}
	q.records[key] = record{val: append([]byte(nil), value...), ver: version + 1}
	return version + 1, nil
}

func (q *Queue) AppendLog(ctx context.Context, key string, entry []byte) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closed {
		return queue.ErrClosed
	}
	q.logs[key] = append(q.logs[key], append([]byte(nil), entry...))
	return nil
}

func (q *Queue) LogEntries(ctx context.Context, key string) ([][]byte, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closed {
		return nil, queue.ErrClosed
	}
	return append([][]byte(nil), q.logs[key]...), nil
}

func (q *Queue) ListRecords(ctx context.Context, prefix string) ([]string, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closed {
		return nil, queue.ErrClosed
	}
	var out []string
	for k := range q.records {
		if strings.HasPrefix(k, prefix) {
			out = append(out, k)
		}
	}
	slices.Sort(out)
	return out, nil
}

func (q *Queue) Remember(ctx context.Context, key string, ttl time.Duration) (bool, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closed {
		return false, queue.ErrClosed
	}
	if t, ok := q.seen[key]; ok && time.Now().Before(t) {
		return false, nil
	}
	q.seen[key] = queue.RememberExpiry(time.Now(), ttl)
	return true, nil
}

// Dump returns every byte the queue holds, for sentinel scans: stream
// names, message ids and bodies, chunks, records, logs and the keys given
// to Remember. It is empty for a queue that was never written to.
func (q *Queue) Dump() []byte {
	q.mu.Lock()
	defer q.mu.Unlock()
	var b []byte
	for s, ms := range q.streams {
		b = append(b, s...)
		for _, m := range ms {
			b = append(append(b, m.ID...), m.Body...)
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
	for k := range q.seen {
		b = append(b, k...)
	}
	return b
}

// Close makes every later call fail with queue.ErrClosed; Dump still works.
func (q *Queue) Close() error {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.closed = true
	return nil
}

// validID reports whether id has the form "<ms>-<seq>", in decimal digits.
func validID(id string) bool {
	ms, seq, ok := strings.Cut(id, "-")
	return ok && digits(ms) && digits(seq)
}

func digits(s string) bool {
	_, err := strconv.ParseUint(s, 10, 64)
	return err == nil
}

var _ queue.Queue = (*Queue)(nil)
