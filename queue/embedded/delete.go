package embedded

import (
	"context"
	"fmt"

	"github.com/flarehq/flare/queue"
)

// Delete implements queue.Queue. The store runs with secure_delete, so the
// deleted bytes are overwritten in the database file, not just unlinked.
func (s *Store) Delete(ctx context.Context, stream string, ids ...string) error {
	type key struct{ ms, seq int64 }
	keys := make([]key, 0, len(ids))
	for _, id := range ids {
		ms, seq, ok := parseID(id)
		if !ok {
			return fmt.Errorf("embedded queue: delete: message id %q: %w", id, queue.ErrInvalidID)
		}
		keys = append(keys, key{ms, seq})
	}
	if len(keys) == 0 {
		return s.check(ctx)
	}
	err := s.do(ctx, false, func(t *txn) error {
		for _, k := range keys {
			if _, err := t.exec(`DELETE FROM messages WHERE stream = ? AND ms = ? AND seq = ?`, stream, k.ms, k.seq); err != nil {
				return err
			}
			if _, err := t.exec(`DELETE FROM pending WHERE stream = ? AND ms = ? AND seq = ?`, stream, k.ms, k.seq); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("embedded queue: delete from %s: %w", stream, err)
	}
	return s.truncateWAL(ctx)
}

// DeleteRecord implements queue.Records.
func (s *Store) DeleteRecord(ctx context.Context, key string) error {
	err := s.do(ctx, false, func(t *txn) error {
		if _, err := t.exec(`DELETE FROM records WHERE key = ?`, key); err != nil {
			return err
		}
		_, err := t.exec(`DELETE FROM logs WHERE key = ?`, key)
		return err
	})
	if err != nil {
		return fmt.Errorf("embedded queue: delete record: %w", err)
	}
	return s.truncateWAL(ctx)
}

// truncateWAL copies the write-ahead log into the database and empties it,
// so that the frames that held deleted data are gone from the disk as well
// (secure_delete has already zeroed the data's pages). A reader in another
// process holding an old snapshot can keep the log from being emptied; then
// the frames go at a later checkpoint, and the delete itself still stands.
func (s *Store) truncateWAL(ctx context.Context) error {
	var busy, logFrames, checkpointed int
	err := s.read.QueryRowContext(ctx, "PRAGMA wal_checkpoint(TRUNCATE)").Scan(&busy, &logFrames, &checkpointed)
	if err != nil {
		return fmt.Errorf("embedded queue: checkpoint after delete: %w", s.readErr(err))
	}
	return nil
}
