package redis

import (
	"context"
	"fmt"

	goredis "github.com/redis/go-redis/v9"

	"github.com/flarehq/flare/queue"
)

// Delete implements queue.Queue with XDEL: the entries leave the stream,
// and Redis drops them from consumer groups' pending lists as it meets
// them. The append-only file keeps the old commands until Redis rewrites
// it.
func (q *Queue) Delete(ctx context.Context, stream string, ids ...string) error {
	if err := q.check(ctx); err != nil {
		return err
	}
	for _, id := range ids {
		if !validID(id) {
			return fmt.Errorf("redis queue: delete: message id %q: %w", id, queue.ErrInvalidID)
		}
	}
	if len(ids) == 0 {
		return nil
	}
	return q.wrap(q.c.XDel(ctx, q.streamKey(stream), ids...).Err(), "delete")
}

// deleteRecord removes a record, its log and its entry in the index at once.
var deleteRecord = goredis.NewScript(`
redis.call('DEL', KEYS[1], KEYS[2])
redis.call('ZREM', KEYS[3], ARGV[1])
return 1
`)

// DeleteRecord implements queue.Records.
func (q *Queue) DeleteRecord(ctx context.Context, key string) error {
	if err := q.check(ctx); err != nil {
		return err
	}
	err := deleteRecord.Run(ctx, q.c, []string{q.recordKey(key), q.logKey(key), q.recordIndexKey()}, key).Err()
	return q.wrap(err, "delete record")
}
