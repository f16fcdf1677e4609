package embedded

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	mathrand "math/rand/v2"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/flarehq/flare/queue"

	_ "modernc.org/sqlite" // the pure-Go SQLite driver, registered as "sqlite"
)

// Options tune a Store. The zero value is what Flare uses.
type Options struct {
	// BusyTimeout is how long a write waits for another process holding
	// the file's write lock; 0 means 10 seconds.
	BusyTimeout time.Duration
	// PollInterval is how often a blocked Read looks for messages that
	// another process enqueued; 0 means 100 milliseconds. Enqueues in
	// this process wake blocked Reads at once.
	PollInterval time.Duration
	// MaxBatch is the most writes committed in one transaction; 0 means
	// 256.
	MaxBatch int
}

// Store is a queue.Queue on one SQLite file. It is safe for concurrent use,
// by goroutines and by other processes that open the same file.
type Store struct {
	path  string
	opts  Options
	read  *sql.DB
	w     *writer
	wake  *notifier
	done  chan struct{}
	once  sync.Once
	shut  atomic.Bool
	sweep atomic.Int64 // unix ms of the last sweep of expired Remember keys
}

var _ queue.Queue = (*Store)(nil)

// ParseURL returns the file path in an embedded store URL: "file:PATH",
// "file:///abs/PATH", or a plain path.
func ParseURL(raw string) (string, error) {
	path, err := parseURL(raw)
	return path, queue.RedactError(err, raw)
}

func parseURL(raw string) (string, error) {
	path := raw
	if len(raw) >= 5 && strings.EqualFold(raw[:5], "file:") {
		u, err := url.Parse(raw)
		if err != nil {
			return "", fmt.Errorf("embedded queue url: %w", err)
		}
		if u.Host != "" && u.Host != "localhost" {
			return "", fmt.Errorf("embedded queue url: host %q not allowed, the file must be local", u.Host)
		}
		if u.RawQuery != "" {
			return "", errors.New("embedded queue url: query parameters are not supported")
		}
		path = u.Opaque
		if path == "" {
			path = u.Path
		}
		if p, err := url.PathUnescape(path); err == nil {
			path = p
		}
	}
	if path == "" {
		return "", errors.New("embedded queue url: no file path")
	}
	return path, nil
}

// Open opens, or creates, the store in the file at path. Missing parent
// folders are created with mode 0700, a new file with mode 0600.
func Open(ctx context.Context, path string, opts Options) (*Store, error) {
	if opts.BusyTimeout <= 0 {
		opts.BusyTimeout = 10 * time.Second
	}
	if opts.PollInterval <= 0 {
		opts.PollInterval = 100 * time.Millisecond
	}
	if opts.MaxBatch <= 0 {
		opts.MaxBatch = 256
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("embedded queue: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(abs), 0o700); err != nil {
		return nil, fmt.Errorf("embedded queue: create folder: %w", err)
	}
	f, err := os.OpenFile(abs, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("embedded queue: %w", err)
	}
	f.Close()

	dsn := dataSource(abs, opts.BusyTimeout)
	wdb, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("embedded queue: %w", err)
	}
	wdb.SetMaxOpenConns(1)
	wdb.SetConnMaxLifetime(0)
	wdb.SetConnMaxIdleTime(0)
	if err := migrate(ctx, wdb, opts.BusyTimeout); err != nil {
		wdb.Close()
		return nil, fmt.Errorf("embedded queue %s: %w", abs, err)
	}
	rdb, err := sql.Open("sqlite", dsn+"&_pragma=query_only(1)")
	if err != nil {
		wdb.Close()
		return nil, fmt.Errorf("embedded queue: %w", err)
	}
	rdb.SetMaxOpenConns(4)
	rdb.SetMaxIdleConns(4)

	s := &Store{path: abs, opts: opts, read: rdb, wake: newNotifier(), done: make(chan struct{})}
	w, err := startWriter(ctx, wdb, opts.MaxBatch, s.done, s.wake.broadcast)
	if err != nil {
		rdb.Close()
		wdb.Close()
		return nil, fmt.Errorf("embedded queue %s: %w", abs, err)
	}
	s.w = w
	return s, nil
}

// dataSource is the SQLite URI for path: synchronous=FULL so that a
// commit is on disk when it returns, and a busy timeout so that two
// processes take turns at the write lock instead of failing. WAL mode, so
// that readers in any process never wait for the writer, is kept in the
// file itself: migrate sets it once, with retries (see setWAL).
func dataSource(abs string, busy time.Duration) string {
	u := url.URL{Scheme: "file", Path: filepath.ToSlash(abs)}
	q := url.Values{}
	q.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", busy.Milliseconds()))
	q.Add("_pragma", "synchronous(FULL)")
	q.Add("_pragma", "foreign_keys(OFF)")
	// Zero every deleted row, overflow pages included, so that a deleted
	// reply, tip or blob is gone from the file, not just unlinked (FAST
	// left a deleted reply's ciphertext in freed overflow pages).
	q.Add("_pragma", "secure_delete(ON)")
	// Let the WAL shrink back after a burst of large attachments instead
	// of keeping its largest size for ever.
	q.Add("_pragma", "journal_size_limit(67108864)")
	return u.String() + "?" + q.Encode()
}

const schema = `
CREATE TABLE IF NOT EXISTS messages (
	id     INTEGER PRIMARY KEY,
	stream TEXT NOT NULL,
	ms     INTEGER NOT NULL,
	seq    INTEGER NOT NULL,
	body   BLOB NOT NULL,
	UNIQUE (stream, ms, seq)
);
CREATE TABLE IF NOT EXISTS groups (
	stream   TEXT NOT NULL,
	grp      TEXT NOT NULL,
	last_ms  INTEGER NOT NULL,
	last_seq INTEGER NOT NULL,
	PRIMARY KEY (stream, grp)
);
CREATE TABLE IF NOT EXISTS pending (
	stream       TEXT NOT NULL,
	grp          TEXT NOT NULL,
	ms           INTEGER NOT NULL,
	seq          INTEGER NOT NULL,
	consumer     TEXT NOT NULL,
	delivered_at INTEGER NOT NULL,
	deliveries   INTEGER NOT NULL,
	PRIMARY KEY (stream, grp, ms, seq)
);
CREATE TABLE IF NOT EXISTS chunks (
	blob TEXT NOT NULL,
	idx  INTEGER NOT NULL,
	data BLOB NOT NULL,
	PRIMARY KEY (blob, idx)
);
CREATE TABLE IF NOT EXISTS blobs (
	blob      TEXT PRIMARY KEY,
	created   INTEGER NOT NULL,
	committed INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS blobs_sweep ON blobs (committed, created);
CREATE TABLE IF NOT EXISTS records (
	key     TEXT PRIMARY KEY,
	value   BLOB NOT NULL,
	version INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS logs (
	id    INTEGER PRIMARY KEY,
	key   TEXT NOT NULL,
	entry BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS logs_key ON logs (key, id);
CREATE TABLE IF NOT EXISTS remember (
	key     TEXT PRIMARY KEY,
	expires INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS remember_expires ON remember (expires);
`

func migrate(ctx context.Context, db *sql.DB, busy time.Duration) error {
	if err := setWAL(ctx, db, busy); err != nil {
		return err
	}
	var hadBlobs int
	if err := db.QueryRowContext(ctx, `SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'blobs'`).Scan(&hadBlobs); err != nil {
		return fmt.Errorf("read schema: %w", err)
	}
	if _, err := db.ExecContext(ctx, schema); err != nil {
		return fmt.Errorf("create schema: %w", err)
	}
	if hadBlobs == 0 {
		// Chunks stored before blobs were tracked may belong to queued
		// tips: count them as committed, so that no sweep removes them.
		if _, err := db.ExecContext(ctx, `INSERT OR IGNORE INTO blobs (blob, created, committed)
			SELECT DISTINCT blob, ?, 1 FROM chunks`, queue.HourMillis(time.Now())); err != nil {
			return fmt.Errorf("record existing blobs: %w", err)
		}
	}
	return nil
}

// setWAL switches the file to WAL mode, which the file then keeps. When
// several processes open a new file at once, the switch, and even reading
// the mode while another connection switches it, can fail with
// SQLITE_BUSY at once: SQLite does not call the busy handler there. So
// setWAL retries for up to busy, with a little jitter so that the racing
// openers fall out of step.
func setWAL(ctx context.Context, db *sql.DB, busy time.Duration) error {
	deadline := time.Now().Add(busy)
	for {
		var mode string
		err := db.QueryRowContext(ctx, "PRAGMA journal_mode=WAL").Scan(&mode)
		if err == nil {
			if !strings.EqualFold(mode, "wal") {
				return fmt.Errorf("journal mode is %q, want wal", mode)
			}
			return nil
		}
		if !isBusy(err) || time.Now().After(deadline) {
			return fmt.Errorf("set journal mode: %w", err)
		}
		pause := time.Duration(5+mathrand.IntN(20)) * time.Millisecond
		select {
		case <-ctx.Done():
			return fmt.Errorf("set journal mode: %w", ctx.Err())
		case <-time.After(pause):
		}
	}
}

// isBusy reports whether err is SQLite's SQLITE_BUSY (or an extended code
// of it, such as SQLITE_BUSY_RECOVERY).
func isBusy(err error) bool {
	var coded interface{ Code() int }
	return errors.As(err, &coded) && coded.Code()&0xff == 5
}

// Commits returns how many transactions this Store has committed; with
// the number of writes it tells how well group commit batches them.
func (s *Store) Commits() int64 { return s.w.commits.Load() }

// Path returns the absolute path of the store's file.
func (s *Store) Path() string { return s.path }

// Close waits for writes in flight, then closes the file. Later calls
// return queue.ErrClosed.
func (s *Store) Close() error {
	if s.shut.Swap(true) {
		return nil
	}
	var err error
	s.once.Do(func() {
		close(s.done)
		err = errors.Join(s.w.wait(), s.read.Close())
	})
	return err
}

func (s *Store) closed() bool { return s.shut.Load() }

// check returns the error a call must fail with before it starts.
func (s *Store) check(ctx context.Context) error {
	if s.closed() {
		return queue.ErrClosed
	}
	return ctx.Err()
}

// readErr reports queue.ErrClosed for a read that raced with Close.
func (s *Store) readErr(err error) error {
	if s.closed() {
		return queue.ErrClosed
	}
	return err
}

// notifier wakes blocked Reads when this process commits an Enqueue.
type notifier struct {
	mu sync.Mutex
	ch chan struct{}
}

func newNotifier() *notifier { return &notifier{ch: make(chan struct{})} }

// wait returns a channel closed at the next broadcast.
func (n *notifier) wait() <-chan struct{} {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.ch
}

func (n *notifier) broadcast() {
	n.mu.Lock()
	close(n.ch)
	n.ch = make(chan struct{})
	n.mu.Unlock()
}
