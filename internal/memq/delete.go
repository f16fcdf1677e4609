package memq

import (
	"context"
	"slices"

	"github.com/flarehq/flare/queue"
)

// Delete implements queue.Queue.
func (q *Queue) Delete(ctx context.Context, stream string, ids ...string) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closed {
		return queue.ErrClosed
	}
	for _, id := range ids {
		if !validID(id) {
			return queue.ErrInvalidID
		}
	}
	q.streams[stream] = slices.DeleteFunc(q.streams[stream], func(m queue.Message) bool {
		return slices.Contains(ids, m.ID)
	})
	return nil
}

// DeleteRecord implements queue.Records.
func (q *Queue) DeleteRecord(ctx context.Context, key string) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closed {
		return queue.ErrClosed
	}
	delete(q.records, key)
	delete(q.logs, key)
	return nil
}
