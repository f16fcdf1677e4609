package redis

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/flarehq/flare/queue"
)

// PutChunk implements queue.ChunkStore: the chunk under its own key, its
// index in the blob's set, both in one MULTI.
func (q *Queue) PutChunk(ctx context.Context, blobID string, index int, data []byte) error {
	if err := q.check(ctx); err != nil {
		return err
	}
	if blobID == "" || index < 0 {
		return fmt.Errorf("redis queue: put chunk: bad blob id or index %d", index)
	}
	_, err := q.c.TxPipelined(ctx, func(p goredis.Pipeliner) error {
		p.Set(ctx, q.chunkKey(blobID, index), data, 0)
		p.SAdd(ctx, q.blobIndexKey(blobID), index)
		return nil
	})
	return q.wrap(err, "put chunk %d", index)
}

// GetChunk implements queue.ChunkStore.
func (q *Queue) GetChunk(ctx context.Context, blobID string, index int) ([]byte, error) {
	if err := q.check(ctx); err != nil {
		return nil, err
	}
	data, err := q.c.Get(ctx, q.chunkKey(blobID, index)).Bytes()
	if errors.Is(err, goredis.Nil) {
		return nil, fmt.Errorf("redis queue: chunk %d: %w", index, queue.ErrNotFound)
	}
	if err != nil {
		return nil, q.wrap(err, "get chunk %d", index)
	}
	return data, nil
}

// deleteBlob removes the chunks listed in a blob's index and the index,
// atomically. Every key shares the blob's hash tag.
var deleteBlob = goredis.NewScript(`
local members = redis.call('SMEMBERS', KEYS[1])
for _, i in ipairs(members) do
	redis.call('UNLINK', ARGV[1] .. i)
end
redis.call('UNLINK', KEYS[1])
return #members
`)

// DeleteBlob implements queue.ChunkStore.
func (q *Queue) DeleteBlob(ctx context.Context, blobID string) error {
	if err := q.check(ctx); err != nil {
		return err
	}
	prefix := q.chunkKey(blobID, 0)
	prefix = prefix[:len(prefix)-1] // "…:{id}:"
	err := deleteBlob.Run(ctx, q.c, []string{q.blobIndexKey(blobID)}, prefix).Err()
	return q.wrap(err, "delete blob")
}

// GetRecord implements queue.Records.
func (q *Queue) GetRecord(ctx context.Context, key string) ([]byte, int64, error) {
	if err := q.check(ctx); err != nil {
		return nil, 0, err
	}
	vals, err := q.c.HMGet(ctx, q.recordKey(key), "v", "n").Result()
	if err != nil {
		return nil, 0, q.wrap(err, "get record")
	}
	value, ok1 := vals[0].(string)
	n, ok2 := vals[1].(string)
	if !ok1 || !ok2 {
		return nil, 0, fmt.Errorf("redis queue: record: %w", queue.ErrNotFound)
	}
	version, err := strconv.ParseInt(n, 10, 64)
	if err != nil {
		return nil, 0, fmt.Errorf("redis queue: record has a malformed version %q", n)
	}
	return []byte(value), version, nil
}

// putRecord compares the stored version with ARGV[2] and, if they match,
// stores ARGV[1] at the next version and lists the key in the index. It
// returns the new version, or -1 for a conflict.
var putRecord = goredis.NewScript(`
local current = tonumber(redis.call('HGET', KEYS[1], 'n') or '0')
if current ~= tonumber(ARGV[2]) then
	return -1
end
local nextv = current + 1
redis.call('HSET', KEYS[1], 'v', ARGV[1], 'n', nextv)
redis.call('ZADD', KEYS[2], 0, ARGV[3])
return nextv
`)

// PutRecord implements queue.Records with a compare-and-set script, which
// Redis runs atomically.
func (q *Queue) PutRecord(ctx context.Context, key string, value []byte, version int64) (int64, error) {
	if err := q.check(ctx); err != nil {
		return 0, err
	}
	if key == "" || version < 0 {
		return 0, fmt.Errorf("redis queue: put record: bad key or version %d", version)
	}
	next, err := putRecord.Run(ctx, q.c, []string{q.recordKey(key), q.recordIndexKey()}, value, version, key).Int64()
	if err != nil {
		return 0, q.wrap(err, "put record")
	}
	if next < 0 {
		return 0, fmt.Errorf("redis queue: put record: %w", queue.ErrConflict)
	}
	return next, nil
}

// AppendLog implements queue.Records with RPUSH.
func (q *Queue) AppendLog(ctx context.Context, key string, entry []byte) error {
	if err := q.check(ctx); err != nil {
		return err
	}
	if key == "" {
		return errors.New("redis queue: append log: empty key")
	}
	return q.wrap(q.c.RPush(ctx, q.logKey(key), entry).Err(), "append log")
}

// LogEntries implements queue.Records.
func (q *Queue) LogEntries(ctx context.Context, key string) ([][]byte, error) {
	if err := q.check(ctx); err != nil {
		return nil, err
	}
	vals, err := q.c.LRange(ctx, q.logKey(key), 0, -1).Result()
	if err != nil {
		return nil, q.wrap(err, "log entries")
	}
	out := make([][]byte, len(vals))
	for i, v := range vals {
		out[i] = []byte(v)
	}
	return out, nil
}

// ListRecords implements queue.Records with ZRANGEBYLEX on the index of
// record keys. Keys come back sorted bytewise.
func (q *Queue) ListRecords(ctx context.Context, prefix string) ([]string, error) {
	if err := q.check(ctx); err != nil {
		return nil, err
	}
	lo, hi := "-", "+"
	if prefix != "" {
		lo = "[" + prefix
		if end, ok := prefixEnd(prefix); ok {
			hi = "(" + end
		}
	}
	keys, err := q.c.ZRangeByLex(ctx, q.recordIndexKey(), &goredis.ZRangeBy{Min: lo, Max: hi}).Result()
	if err != nil {
		return nil, q.wrap(err, "list records")
	}
	return keys, nil
}

// prefixEnd returns the smallest string greater than every string that
// starts with prefix, or false if there is none (prefix is all 0xff).
func prefixEnd(prefix string) (string, bool) {
	b := []byte(prefix)
	for i := len(b) - 1; i >= 0; i-- {
		if b[i] < 0xff {
			b[i]++
			return string(b[:i+1]), true
		}
	}
	return "", false
}

// Remember implements queue.Queue with SET NX PX.
func (q *Queue) Remember(ctx context.Context, key string, ttl time.Duration) (bool, error) {
	if err := q.check(ctx); err != nil {
		return false, err
	}
	if key == "" || ttl <= 0 {
		return false, fmt.Errorf("redis queue: remember: bad key or ttl %v", ttl)
	}
	ttl = max(ttl, time.Millisecond)
	first, err := q.c.SetNX(ctx, q.rememberKey(key), 1, ttl).Result()
	if err != nil {
		return false, q.wrap(err, "remember")
	}
	return first, nil
}
