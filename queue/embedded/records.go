package embedded

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/flarehq/flare/queue"
)

// sweepEvery is how often Remember deletes every expired key besides the
// one it is asked about.
const sweepEvery = time.Minute

// PutChunk implements queue.ChunkStore. The chunk is fsync'd when it
// returns.
func (s *Store) PutChunk(ctx context.Context, blobID string, index int, data []byte) error {
	if blobID == "" || index < 0 {
		return fmt.Errorf("embedded queue: put chunk: bad blob id or index %d", index)
	}
	data = append([]byte(nil), data...)
	created := queue.HourMillis(time.Now())
	err := s.do(ctx, false, func(t *txn) error {
		if _, err := t.exec(`INSERT OR IGNORE INTO blobs (blob, created, committed) VALUES (?, ?, 0)`, blobID, created); err != nil {
			return err
		}
		_, err := t.exec(`INSERT OR REPLACE INTO chunks (blob, idx, data) VALUES (?, ?, ?)`, blobID, index, data)
		return err
	})
	if err != nil {
		return fmt.Errorf("embedded queue: put chunk %d: %w", index, err)
	}
	return nil
}

// GetChunk implements queue.ChunkStore.
func (s *Store) GetChunk(ctx context.Context, blobID string, index int) ([]byte, error) {
	if err := s.check(ctx); err != nil {
		return nil, err
	}
	var data []byte
	err := s.read.QueryRowContext(ctx, `SELECT data FROM chunks WHERE blob = ? AND idx = ?`, blobID, index).Scan(&data)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("embedded queue: chunk %d: %w", index, queue.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("embedded queue: get chunk %d: %w", index, s.readErr(err))
	}
	if data == nil {
		data = []byte{}
	}
	return data, nil
}

// DeleteBlob implements queue.ChunkStore.
func (s *Store) DeleteBlob(ctx context.Context, blobID string) error {
	err := s.do(ctx, false, func(t *txn) error {
		if _, err := t.exec(`DELETE FROM chunks WHERE blob = ?`, blobID); err != nil {
			return err
		}
		_, err := t.exec(`DELETE FROM blobs WHERE blob = ?`, blobID)
		return err
	})
	if err != nil {
		return fmt.Errorf("embedded queue: delete blob: %w", err)
	}
	return nil
}

// CommitBlobs implements queue.ChunkStore.
func (s *Store) CommitBlobs(ctx context.Context, blobIDs ...string) error {
	var missing []string
	err := s.do(ctx, false, func(t *txn) error {
		missing = missing[:0]
		for _, id := range blobIDs {
			res, err := t.exec(`UPDATE blobs SET committed = 1 WHERE blob = ?`, id)
			if err != nil {
				return err
			}
			if n, err := res.RowsAffected(); err != nil {
				return err
			} else if n == 0 {
				missing = append(missing, id)
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("embedded queue: commit blobs: %w", err)
	}
	if len(missing) > 0 {
		return fmt.Errorf("embedded queue: commit blobs: %d of %d have no chunks: %w", len(missing), len(blobIDs), queue.ErrNotFound)
	}
	return nil
}

// SweepBlobs implements queue.ChunkStore, in one transaction.
func (s *Store) SweepBlobs(ctx context.Context, before time.Time) (int, error) {
	cutoff := queue.SweepCutoff(before)
	var removed int64
	err := s.do(ctx, false, func(t *txn) error {
		if _, err := t.exec(`DELETE FROM chunks WHERE blob IN
			(SELECT blob FROM blobs WHERE committed = 0 AND created <= ?)`, cutoff); err != nil {
			return err
		}
		res, err := t.exec(`DELETE FROM blobs WHERE committed = 0 AND created <= ?`, cutoff)
		if err != nil {
			return err
		}
		removed, err = res.RowsAffected()
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("embedded queue: sweep blobs: %w", err)
	}
	return int(removed), nil
}

// GetRecord implements queue.Records.
func (s *Store) GetRecord(ctx context.Context, key string) ([]byte, int64, error) {
	if err := s.check(ctx); err != nil {
		return nil, 0, err
	}
	var value []byte
	var version int64
	err := s.read.QueryRowContext(ctx, `SELECT value, version FROM records WHERE key = ?`, key).Scan(&value, &version)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, 0, fmt.Errorf("embedded queue: record: %w", queue.ErrNotFound)
	}
	if err != nil {
		return nil, 0, fmt.Errorf("embedded queue: get record: %w", s.readErr(err))
	}
	if value == nil {
		value = []byte{}
	}
	return value, version, nil
}

// PutRecord implements queue.Records. The compare and the write happen in
// one transaction under the file's write lock, so two writers in any two
// processes cannot both succeed from the same version.
func (s *Store) PutRecord(ctx context.Context, key string, value []byte, version int64) (int64, error) {
	if key == "" || version < 0 {
		return 0, fmt.Errorf("embedded queue: put record: bad key or version %d", version)
	}
	value = append([]byte{}, value...)
	var next int64
	err := s.do(ctx, false, func(t *txn) error {
		var current int64
		err := t.row(`SELECT version FROM records WHERE key = ?`, key).Scan(&current)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			current = 0
		case err != nil:
			return err
		}
		if current != version {
			return queue.ErrConflict
		}
		next = current + 1
		_, err = t.exec(`INSERT INTO records (key, value, version) VALUES (?, ?, ?)
			ON CONFLICT (key) DO UPDATE SET value = excluded.value, version = excluded.version`, key, value, next)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("embedded queue: put record: %w", err)
	}
	return next, nil
}

// AppendLog implements queue.Records.
func (s *Store) AppendLog(ctx context.Context, key string, entry []byte) error {
	if key == "" {
		return errors.New("embedded queue: append log: empty key")
	}
	entry = append([]byte{}, entry...)
	err := s.do(ctx, false, func(t *txn) error {
		_, err := t.exec(`INSERT INTO logs (key, entry) VALUES (?, ?)`, key, entry)
		return err
	})
	if err != nil {
		return fmt.Errorf("embedded queue: append log: %w", err)
	}
	return nil
}

// LogEntries implements queue.Records.
func (s *Store) LogEntries(ctx context.Context, key string) ([][]byte, error) {
	if err := s.check(ctx); err != nil {
		return nil, err
	}
	rows, err := s.read.QueryContext(ctx, `SELECT entry FROM logs WHERE key = ? ORDER BY id`, key)
	if err != nil {
		return nil, fmt.Errorf("embedded queue: log entries: %w", s.readErr(err))
	}
	defer rows.Close()
	var out [][]byte
	for rows.Next() {
		var e []byte
		if err := rows.Scan(&e); err != nil {
			return nil, fmt.Errorf("embedded queue: log entries: %w", s.readErr(err))
		}
		if e == nil {
			e = []byte{}
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

// ListRecords implements queue.Records. Keys come back sorted.
func (s *Store) ListRecords(ctx context.Context, prefix string) ([]string, error) {
	if err := s.check(ctx); err != nil {
		return nil, err
	}
	// substr compares bytes exactly, unlike LIKE, whose wildcards and
	// case folding would need escaping.
	rows, err := s.read.QueryContext(ctx,
		`SELECT key FROM records WHERE key >= ? AND substr(key, 1, length(?)) = ? ORDER BY key`,
		prefix, prefix, prefix)
	if err != nil {
		return nil, fmt.Errorf("embedded queue: list records: %w", s.readErr(err))
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var k string
		if err := rows.Scan(&k); err != nil {
			return nil, fmt.Errorf("embedded queue: list records: %w", s.readErr(err))
		}
		out = append(out, k)
	}
	return out, rows.Err()
}

// Remember implements queue.Queue. Expired keys are deleted when asked
// about, and all of them about once a minute.
func (s *Store) Remember(ctx context.Context, key string, ttl time.Duration) (bool, error) {
	if key == "" || ttl <= 0 {
		return false, fmt.Errorf("embedded queue: remember: bad key or ttl %v", ttl)
	}
	var first bool
	err := s.do(ctx, false, func(t *txn) error {
		clock := time.Now()
		now := clock.UnixMilli()
		if last := s.sweep.Load(); now-last >= sweepEvery.Milliseconds() && s.sweep.CompareAndSwap(last, now) {
			if _, err := t.exec(`DELETE FROM remember WHERE expires <= ?`, now); err != nil {
				return err
			}
		}
		if _, err := t.exec(`DELETE FROM remember WHERE key = ? AND expires <= ?`, key, now); err != nil {
			return err
		}
		expires := queue.RememberExpiry(clock, ttl).UnixMilli()
		res, err := t.exec(`INSERT OR IGNORE INTO remember (key, expires) VALUES (?, ?)`, key, expires)
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		first = n == 1
		return err
	})
	if err != nil {
		return false, fmt.Errorf("embedded queue: remember: %w", err)
	}
	return first, nil
}
