package embedded

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/flarehq/flare/queue"
)

// Enqueue implements queue.Queue. It returns once the transaction holding
// the message is committed and fsync'd.
func (s *Store) Enqueue(ctx context.Context, stream string, body []byte) (string, error) {
	if stream == "" {
		return "", errors.New("embedded queue: enqueue: empty stream name")
	}
	body = append([]byte(nil), body...)
	var id string
	err := s.do(ctx, true, func(t *txn) error {
		var lastMs, lastSeq int64
		err := t.row(`SELECT ms, seq FROM messages WHERE stream = ? ORDER BY ms DESC, seq DESC LIMIT 1`, stream).Scan(&lastMs, &lastSeq)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			lastMs, lastSeq = -1, 0
		case err != nil:
			return err
		}
		// Ids carry the hour only (see queue.TimePrecision); within an
		// hour, and after a later id from an older store or another
		// process's clock, the sequence orders them.
		ms, seq := queue.HourMillis(time.Now()), int64(0)
		if ms <= lastMs {
			ms, seq = lastMs, lastSeq+1
		}
		if _, err := t.exec(`INSERT INTO messages (stream, ms, seq, body) VALUES (?, ?, ?, ?)`, stream, ms, seq, body); err != nil {
			return err
		}
		id = formatID(ms, seq)
		return nil
	})
	if err != nil {
		return "", fmt.Errorf("embedded queue: enqueue to %s: %w", stream, err)
	}
	return id, nil
}

// Read implements queue.Queue. A blocked Read wakes at once for Enqueues
// in this process and within Options.PollInterval for other processes.
func (s *Store) Read(ctx context.Context, stream string, opts queue.ReadOptions) ([]queue.Message, error) {
	if stream == "" || opts.Group == "" || opts.Consumer == "" {
		return nil, errors.New("embedded queue: read needs a stream, a group and a consumer")
	}
	if opts.Count <= 0 {
		opts.Count = 1
	}
	if opts.Visibility <= 0 {
		opts.Visibility = queue.DefaultVisibility
	}
	deadline := time.Now().Add(opts.Block)
	for {
		woken := s.wake.wait()
		msgs, err := s.readOnce(ctx, stream, opts)
		if err != nil || len(msgs) > 0 || opts.Block <= 0 {
			return msgs, err
		}
		left := time.Until(deadline)
		if left <= 0 {
			return nil, nil
		}
		timer := time.NewTimer(min(left, s.opts.PollInterval))
		select {
		case <-woken:
		case <-timer.C:
		case <-ctx.Done():
			timer.Stop()
			return nil, ctx.Err()
		case <-s.done:
			timer.Stop()
			return nil, queue.ErrClosed
		}
		timer.Stop()
	}
}

// readOnce claims expired pending messages, then new ones, in one write.
func (s *Store) readOnce(ctx context.Context, stream string, opts queue.ReadOptions) ([]queue.Message, error) {
	var out []queue.Message
	err := s.do(ctx, false, func(t *txn) error {
		out = out[:0]
		now := time.Now().UnixMilli()
		if _, err := t.exec(`INSERT OR IGNORE INTO groups (stream, grp, last_ms, last_seq) VALUES (?, ?, 0, 0)`, stream, opts.Group); err != nil {
			return err
		}
		expired, err := scanMessages(t.query(`
			SELECT p.ms, p.seq, p.deliveries, m.body FROM pending p
			JOIN messages m ON m.stream = p.stream AND m.ms = p.ms AND m.seq = p.seq
			WHERE p.stream = ? AND p.grp = ? AND p.delivered_at <= ?
			ORDER BY p.ms, p.seq LIMIT ?`,
			stream, opts.Group, now-opts.Visibility.Milliseconds(), opts.Count))
		if err != nil {
			return err
		}
		for _, m := range expired {
			ms, seq, _ := parseID(m.ID)
			if _, err := t.exec(`UPDATE pending SET consumer = ?, delivered_at = ?, deliveries = deliveries + 1
				WHERE stream = ? AND grp = ? AND ms = ? AND seq = ?`,
				opts.Consumer, now, stream, opts.Group, ms, seq); err != nil {
				return err
			}
			m.Deliveries++
			out = append(out, m)
		}
		if len(out) >= opts.Count {
			return nil
		}
		var lastMs, lastSeq int64
		if err := t.row(`SELECT last_ms, last_seq FROM groups WHERE stream = ? AND grp = ?`, stream, opts.Group).Scan(&lastMs, &lastSeq); err != nil {
			return err
		}
		fresh, err := scanMessages(t.query(`
			SELECT ms, seq, 0, body FROM messages
			WHERE stream = ? AND (ms, seq) > (?, ?)
			ORDER BY ms, seq LIMIT ?`,
			stream, lastMs, lastSeq, opts.Count-len(out)))
		if err != nil {
			return err
		}
		for _, m := range fresh {
			ms, seq, _ := parseID(m.ID)
			if _, err := t.exec(`INSERT OR REPLACE INTO pending (stream, grp, ms, seq, consumer, delivered_at, deliveries)
				VALUES (?, ?, ?, ?, ?, ?, 1)`, stream, opts.Group, ms, seq, opts.Consumer, now); err != nil {
				return err
			}
			lastMs, lastSeq = ms, seq
			m.Deliveries = 1
			out = append(out, m)
		}
		if len(fresh) > 0 {
			if _, err := t.exec(`UPDATE groups SET last_ms = ?, last_seq = ? WHERE stream = ? AND grp = ?`,
				lastMs, lastSeq, stream, opts.Group); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("embedded queue: read %s as %s/%s: %w", stream, opts.Group, opts.Consumer, err)
	}
	return out, nil
}

// Ack implements queue.Queue.
func (s *Store) Ack(ctx context.Context, stream, group string, ids ...string) error {
	type key struct{ ms, seq int64 }
	keys := make([]key, 0, len(ids))
	for _, id := range ids {
		ms, seq, ok := parseID(id)
		if !ok {
			return fmt.Errorf("embedded queue: ack: message id %q: %w", id, queue.ErrInvalidID)
		}
		keys = append(keys, key{ms, seq})
	}
	if len(keys) == 0 {
		return s.check(ctx)
	}
	err := s.do(ctx, false, func(t *txn) error {
		for _, k := range keys {
			if _, err := t.exec(`DELETE FROM pending WHERE stream = ? AND grp = ? AND ms = ? AND seq = ?`,
				stream, group, k.ms, k.seq); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("embedded queue: ack on %s: %w", stream, err)
	}
	return nil
}

// Get implements queue.Queue.
func (s *Store) Get(ctx context.Context, stream, id string) (queue.Message, error) {
	if err := s.check(ctx); err != nil {
		return queue.Message{}, err
	}
	ms, seq, ok := parseID(id)
	if !ok {
		return queue.Message{}, fmt.Errorf("embedded queue: message id %q: %w (%w)", id, queue.ErrInvalidID, queue.ErrNotFound)
	}
	msgs, err := scanMessages(s.read.QueryContext(ctx,
		`SELECT ms, seq, 0, body FROM messages WHERE stream = ? AND ms = ? AND seq = ?`, stream, ms, seq))
	if err != nil {
		return queue.Message{}, fmt.Errorf("embedded queue: get from %s: %w", stream, s.readErr(err))
	}
	if len(msgs) == 0 {
		return queue.Message{}, fmt.Errorf("embedded queue: message %s in %s: %w", id, stream, queue.ErrNotFound)
	}
	return msgs[0], nil
}

// List implements queue.Queue.
func (s *Store) List(ctx context.Context, stream, after string, count int) ([]queue.Message, error) {
	if err := s.check(ctx); err != nil {
		return nil, err
	}
	var ms, seq int64
	if after != "" {
		var ok bool
		if ms, seq, ok = parseID(after); !ok {
			return nil, fmt.Errorf("embedded queue: list after %q: %w", after, queue.ErrInvalidID)
		}
	}
	if count <= 0 {
		return nil, nil
	}
	msgs, err := scanMessages(s.read.QueryContext(ctx, `
		SELECT ms, seq, 0, body FROM messages
		WHERE stream = ? AND (ms, seq) > (?, ?)
		ORDER BY ms, seq LIMIT ?`, stream, ms, seq, count))
	if err != nil {
		return nil, fmt.Errorf("embedded queue: list %s: %w", stream, s.readErr(err))
	}
	return msgs, nil
}

// scanMessages reads rows of (ms, seq, deliveries, body) and closes them.
func scanMessages(rows *sql.Rows, err error) ([]queue.Message, error) {
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []queue.Message
	for rows.Next() {
		var ms, seq int64
		var m queue.Message
		if err := rows.Scan(&ms, &seq, &m.Deliveries, &m.Body); err != nil {
			return nil, err
		}
		m.ID = formatID(ms, seq)
		m.Enqueued = time.UnixMilli(queue.HourMillis(time.UnixMilli(ms))).UTC()
		out = append(out, m)
	}
	return out, rows.Err()
}

func formatID(ms, seq int64) string {
	return strconv.FormatInt(ms, 10) + "-" + strconv.FormatInt(seq, 10)
}

// parseID splits a "<ms>-<seq>" id of decimal digits only; a bare "<ms>"
// means sequence 0.
func parseID(id string) (ms, seq int64, ok bool) {
	a, b, found := strings.Cut(id, "-")
	if ms, ok = parseDigits(a); !ok {
		return 0, 0, false
	}
	if !found {
		return ms, 0, true
	}
	if seq, ok = parseDigits(b); !ok {
		return 0, 0, false
	}
	return ms, seq, true
}

func parseDigits(s string) (int64, bool) {
	if s == "" || strings.Trim(s, "0123456789") != "" {
		return 0, false
	}
	n, err := strconv.ParseInt(s, 10, 64)
	return n, err == nil
}
