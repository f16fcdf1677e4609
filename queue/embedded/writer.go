package embedded

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"runtime"
	"sync/atomic"

	"github.com/flarehq/flare/queue"
)

// A writer owns the store's only write connection. Every change to the
// file is an op handed to it; it runs the ops that are waiting in one
// transaction and commits once, so a burst of writes shares one fsync
// (group commit). Each op runs inside its own savepoint: an op that fails
// leaves no trace and does not spoil the others in its batch. An op learns
// its outcome only after the commit, so a result a caller sees is always
// on disk.
type writer struct {
	db       *sql.DB
	conn     *sql.Conn
	ops      chan *op
	maxBatch int
	done     <-chan struct{}
	stopped  chan struct{}
	stmts    map[string]*sql.Stmt
	onCommit func()
	closeErr error
	commits  atomic.Int64 // transactions committed
}

// op is one unit of work for the writer.
type op struct {
	ctx context.Context
	fn  func(t *txn) error
	// wakes says the op enqueued a message, so blocked Reads should look.
	wakes  bool
	result chan error
}

// txn gives an op's function the writer's connection inside the open
// transaction, with statements prepared once and reused.
type txn struct{ w *writer }

func startWriter(ctx context.Context, db *sql.DB, maxBatch int, done <-chan struct{}, onCommit func()) (*writer, error) {
	conn, err := db.Conn(ctx)
	if err != nil {
		return nil, fmt.Errorf("open write connection: %w", err)
	}
	w := &writer{
		db:       db,
		conn:     conn,
		ops:      make(chan *op),
		maxBatch: maxBatch,
		done:     done,
		stopped:  make(chan struct{}),
		stmts:    make(map[string]*sql.Stmt),
		onCommit: onCommit,
	}
	go w.loop()
	return w, nil
}

// do hands fn to the writer and waits until its transaction committed.
func (s *Store) do(ctx context.Context, wakes bool, fn func(t *txn) error) error {
	if err := s.check(ctx); err != nil {
		return err
	}
	o := &op{ctx: ctx, fn: fn, wakes: wakes, result: make(chan error, 1)}
	select {
	case s.w.ops <- o:
	case <-s.done:
		return queue.ErrClosed
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case err := <-o.result:
		return err
	case <-ctx.Done():
		// The op may still commit; callers treat a cancelled write as
		// "outcome unknown", as with any remote store.
		return ctx.Err()
	}
}

func (w *writer) loop() {
	defer close(w.stopped)
	batch := make([]*op, 0, w.maxBatch)
	for {
		batch = batch[:0]
		select {
		case o := <-w.ops:
			batch = append(batch, o)
		case <-w.done:
			// Run whatever is still being handed over, then stop.
		drain:
			for {
				select {
				case o := <-w.ops:
					w.run([]*op{o})
				default:
					break drain
				}
			}
			w.closeErr = w.shutdown()
			return
		}
		// Take every op already waiting. Callers woken by the last commit
		// may not have run yet (there are few cores), so yield once and
		// look again before committing a short batch.
		yielded := false
	fill:
		for len(batch) < w.maxBatch {
			select {
			case o := <-w.ops:
				batch = append(batch, o)
			default:
				if yielded {
					break fill
				}
				yielded = true
				runtime.Gosched()
			}
		}
		w.run(batch)
	}
}

// run executes a batch in one transaction and reports to every op.
func (w *writer) run(batch []*op) {
	results := make([]error, len(batch))
	t := &txn{w: w}
	if _, err := t.exec("BEGIN IMMEDIATE"); err != nil {
		// Should a transaction have been left open by a failure, end
		// it, so that the next batch can begin.
		w.conn.ExecContext(context.Background(), "ROLLBACK")
		w.fail(batch, fmt.Errorf("embedded queue: begin: %w", err))
		return
	}
	wakes := false
	ran := 0
	for i, o := range batch {
		if err := o.ctx.Err(); err != nil {
			results[i] = err
			continue
		}
		if _, err := t.exec("SAVEPOINT op"); err != nil {
			results[i] = fmt.Errorf("embedded queue: savepoint: %w", err)
			continue
		}
		err := o.fn(t)
		if err != nil {
			_, rerr := t.exec("ROLLBACK TO op")
			err = errors.Join(err, rerr)
		} else {
			ran++
			wakes = wakes || o.wakes
		}
		if _, rerr := t.exec("RELEASE op"); rerr != nil && err == nil {
			err = rerr
		}
		results[i] = err
	}
	if _, err := t.exec("COMMIT"); err != nil {
		w.conn.ExecContext(context.Background(), "ROLLBACK")
		w.fail(batch, fmt.Errorf("embedded queue: commit: %w", err))
		return
	}
	w.commits.Add(1)
	if wakes && w.onCommit != nil {
		w.onCommit()
	}
	for i, o := range batch {
		o.result <- results[i]
	}
}

func (w *writer) fail(batch []*op, err error) {
	for _, o := range batch {
		o.result <- err
	}
}

func (w *writer) shutdown() error {
	var errs []error
	for _, st := range w.stmts {
		errs = append(errs, st.Close())
	}
	errs = append(errs, w.conn.Close(), w.db.Close())
	return errors.Join(errs...)
}

// wait blocks until the writer stopped and returns its closing error.
func (w *writer) wait() error {
	<-w.stopped
	return w.closeErr
}

func (t *txn) stmt(query string) (*sql.Stmt, error) {
	if st, ok := t.w.stmts[query]; ok {
		return st, nil
	}
	st, err := t.w.conn.PrepareContext(context.Background(), query)
	if err != nil {
		return nil, fmt.Errorf("prepare: %w", err)
	}
	t.w.stmts[query] = st
	return st, nil
}

func (t *txn) exec(query string, args ...any) (sql.Result, error) {
	st, err := t.stmt(query)
	if err != nil {
		return nil, err
	}
	return st.ExecContext(context.Background(), args...)
}

func (t *txn) query(query string, args ...any) (*sql.Rows, error) {
	st, err := t.stmt(query)
	if err != nil {
		return nil, err
	}
	return st.QueryContext(context.Background(), args...)
}

func (t *txn) row(query string, args ...any) *sql.Row {
	st, err := t.stmt(query)
	if err != nil {
		// A Row from a closed statement reports the preparation failure
		// poorly; prepare errors are programming errors caught by tests.
		return t.w.conn.QueryRowContext(context.Background(), query, args...)
	}
	return st.QueryRowContext(context.Background(), args...)
}
