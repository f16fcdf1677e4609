package redis

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
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
	created := queue.HourMillis(time.Now())
	_, err := q.c.TxPipelined(ctx, func(p goredis.Pipeliner) error {
		p.HSetNX(ctx, q.blobMetaKey(blobID), "created", created)
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

// deleteBlob removes the chunks listed in a blob's index, the index and
// the blob's metadata, atomically. Every key shares the blob's hash tag.
var deleteBlob = goredis.NewScript(`
local members = redis.call('SMEMBERS', KEYS[1])
for _, i in ipairs(members) do
	redis.call('UNLINK', ARGV[1] .. i)
end
redis.call('UNLINK', KEYS[1], KEYS[2])
return #members
`)

// commitBlob marks a blob committed if it has metadata, and returns 1,
// or 0 for a blob that has none (deleted, swept or never stored).
var commitBlob = goredis.NewScript(`
if redis.call('EXISTS', KEYS[1]) == 0 then
	return 0
end
redis.call('HSET', KEYS[1], 'committed', 1)
return 1
`)

// sweepBlob deletes a blob like deleteBlob, but only if it is still
// uncommitted and was created at or before ARGV[2]; it returns 1 if it
// did. Checking and deleting in one script means a CommitBlobs that wins
// the race keeps its blob whole.
var sweepBlob = goredis.NewScript(`
local created = redis.call('HGET', KEYS[2], 'created')
if not created or redis.call('HEXISTS', KEYS[2], 'committed') == 1 then
	return 0
end
if tonumber(created) > tonumber(ARGV[2]) then
	return 0
end
local members = redis.call('SMEMBERS', KEYS[1])
for _, i in ipairs(members) do
	redis.call('UNLINK', ARGV[1] .. i)
end
redis.call('UNLINK', KEYS[1], KEYS[2])
return 1
`)

// DeleteBlob implements queue.ChunkStore.
func (q *Queue) DeleteBlob(ctx context.Context, blobID string) error {
	if err := q.check(ctx); err != nil {
		return err
	}
	err := deleteBlob.Run(ctx, q.c, []string{q.blobIndexKey(blobID), q.blobMetaKey(blobID)}, q.chunkPrefix(blobID)).Err()
	return q.wrap(err, "delete blob")
}

// chunkPrefix is "…blob:{id}:", the chunk keys without their index.
func (q *Queue) chunkPrefix(blobID string) string {
	prefix := q.chunkKey(blobID, 0)
	return prefix[:len(prefix)-1]
}

// CommitBlobs implements queue.ChunkStore.
func (q *Queue) CommitBlobs(ctx context.Context, blobIDs ...string) error {
	if err := q.check(ctx); err != nil {
		return err
	}
	missing := 0
	for _, id := range blobIDs {
		n, err := commitBlob.Run(ctx, q.c, []string{q.blobMetaKey(id)}).Int()
		if err != nil {
			return q.wrap(err, "commit blobs")
		}
		if n == 0 {
			missing++
		}
	}
	if missing > 0 {
		return fmt.Errorf("redis queue: commit blobs: %d of %d have no chunks: %w", missing, len(blobIDs), queue.ErrNotFound)
	}
	return nil
}

// SweepBlobs implements queue.ChunkStore. It walks the blobs' metadata
// keys with SCAN, which never blocks the server for long, and deletes
// each sweepable blob with one script.
func (q *Queue) SweepBlobs(ctx context.Context, before time.Time) (int, error) {
	if err := q.check(ctx); err != nil {
		return 0, err
	}
	cutoff := queue.SweepCutoff(before)
	head := q.prefix + "blob:{"
	match := globEscape(head) + "*}:m"
	removed := 0
	iter := q.c.Scan(ctx, 0, match, 1000).Iterator()
	for iter.Next(ctx) {
		key := iter.Val()
		id, ok := strings.CutPrefix(key, head)
		if id, ok = strings.CutSuffix(id, "}:m"); !ok {
			continue
		}
		n, err := sweepBlob.Run(ctx, q.c, []string{q.blobIndexKey(id), key}, q.chunkPrefix(id), cutoff).Int()
		if err != nil {
			return removed, q.wrap(err, "sweep blobs")
		}
		removed += n
	}
	if err := iter.Err(); err != nil {
		return removed, q.wrap(err, "sweep blobs")
	}
	return removed, nil
}

// globEscape quotes the characters SCAN MATCH treats as patterns.
func globEscape(s string) string {
	var b strings.Builder
	for _, r := range s {
		if strings.ContainsRune(`*?[]\`, r) {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
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

// Remember implements queue.Queue with SET NX PXAT, at the expiry
// queue.RememberExpiry gives: what Redis keeps, and writes to its files,
// is that rounded time, not the moment of the call.
func (q *Queue) Remember(ctx context.Context, key string, ttl time.Duration) (bool, error) {
	if err := q.check(ctx); err != nil {
		return false, err
	}
	if key == "" || ttl <= 0 {
		return false, fmt.Errorf("redis queue: remember: bad key or ttl %v", ttl)
	}
	at := queue.RememberExpiry(time.Now(), ttl).UnixMilli()
	err := q.c.Do(ctx, "SET", q.rememberKey(key), 1, "PXAT", at, "NX").Err()
	if errors.Is(err, goredis.Nil) {
		return false, nil
	}
	if err != nil {
		return false, q.wrap(err, "remember")
	}
	return true, nil
}
