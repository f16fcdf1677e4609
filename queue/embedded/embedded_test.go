package embedded

import (
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/flarehq/flare/queue"
	"github.com/flarehq/flare/queue/queuetest"
)

func openAt(t testing.TB, path string) *Store {
	t.Helper()
	s, err := Open(context.Background(), path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func fresh(t *testing.T) queue.Queue {
	return openAt(t, filepath.Join(t.TempDir(), "queue.db"))
}

func TestConformance(t *testing.T) {
	queuetest.Run(t, fresh)
}

func TestDurability(t *testing.T) {
	queuetest.RunDurability(t, fresh, func(t *testing.T, q queue.Queue) queue.Queue {
		path := q.(*Store).Path()
		if err := q.Close(); err != nil {
			t.Fatal(err)
		}
		return openAt(t, path)
	})
}

func TestFilePermissions(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data", "flare")
	path := filepath.Join(dir, "queue.db")
	s := openAt(t, path)
	if _, err := s.Enqueue(context.Background(), queue.StreamTips, []byte("sealed")); err != nil {
		t.Fatal(err)
	}
	check := func(p string, want os.FileMode) {
		t.Helper()
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if got := fi.Mode().Perm(); got&^want != 0 {
			t.Errorf("%s has mode %v, want at most %v", p, got, want)
		}
	}
	check(dir, 0o700)
	check(filepath.Dir(dir), 0o700)
	check(path, 0o600)
	check(path+"-wal", 0o600)
	check(path+"-shm", 0o600)
}

func TestParseURL(t *testing.T) {
	cases := []struct {
		in, want string
		bad      bool
	}{
		{in: "file:/var/lib/flare/queue.db", want: "/var/lib/flare/queue.db"},
		{in: "file:queue.db", want: "queue.db"},
		{in: "FILE:queue.db", want: "queue.db"},
		{in: "file:data/queue.db", want: "data/queue.db"},
		{in: "file:///var/lib/flare/queue.db", want: "/var/lib/flare/queue.db"},
		{in: "file://localhost/srv/q.db", want: "/srv/q.db"},
		{in: "file:/tmp/with%20space.db", want: "/tmp/with space.db"},
		{in: "/plain/path.db", want: "/plain/path.db"},
		{in: "relative.db", want: "relative.db"},
		{in: "file://example.org/q.db", bad: true},
		{in: "file:/q.db?mode=ro", bad: true},
		{in: "file:", bad: true},
		{in: "", bad: true},
	}
	for _, c := range cases {
		got, err := ParseURL(c.in)
		if c.bad {
			if err == nil {
				t.Errorf("ParseURL(%q) = %q, want an error", c.in, got)
			}
			continue
		}
		if err != nil || got != c.want {
			t.Errorf("ParseURL(%q) = %q, %v; want %q", c.in, got, err, c.want)
		}
	}
}

func TestOddPath(t *testing.T) {
	// Characters that mean something in a URI must stay part of the name.
	path := filepath.Join(t.TempDir(), "a?b#c%d", "queue.db")
	s := openAt(t, path)
	if _, err := s.Enqueue(context.Background(), queue.StreamTips, []byte("x")); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("store not at the path it was given: %v", err)
	}
}

func BenchmarkEnqueue(b *testing.B) {
	s := openAt(b, filepath.Join(b.TempDir(), "queue.db"))
	queuetest.BenchEnqueue(b, s, 1, 16, 64)
}

// TestDurableSettings checks the write connection really commits with
// fsync: synchronous=FULL (2) in WAL mode.
func TestDurableSettings(t *testing.T) {
	s := openAt(t, filepath.Join(t.TempDir(), "queue.db"))
	var sync, secure int
	var mode string
	err := s.do(context.Background(), false, func(tx *txn) error {
		if err := tx.row("PRAGMA synchronous").Scan(&sync); err != nil {
			return err
		}
		if err := tx.row("PRAGMA secure_delete").Scan(&secure); err != nil {
			return err
		}
		return tx.row("PRAGMA journal_mode").Scan(&mode)
	})
	if err != nil {
		t.Fatal(err)
	}
	if sync != 2 || mode != "wal" || secure != 1 {
		t.Fatalf("synchronous=%d journal_mode=%s secure_delete=%d, want 2 (FULL), wal and 1 (ON)", sync, mode, secure)
	}
}

func TestOpenRefusesOtherFiles(t *testing.T) {
	dir := t.TempDir()
	text := filepath.Join(dir, "notes.txt")
	content := []byte("this is not a database, and it must stay as it is\n")
	if err := os.WriteFile(text, content, 0o600); err != nil {
		t.Fatal(err)
	}
	cases := map[string]string{
		"a text file": text,
		"a folder":    dir,
	}
	for name, path := range cases {
		if s, err := Open(context.Background(), path, Options{}); err == nil {
			s.Close()
			t.Errorf("Open on %s succeeded", name)
		}
	}
	got, err := os.ReadFile(text)
	if err != nil || string(got) != string(content) {
		t.Fatalf("Open changed the file it refused: %q, %v", got, err)
	}
}

// holdWriteLock takes the file's write lock through a connection of its
// own, as another process would, until release is called.
func holdWriteLock(t *testing.T, path string) (release func()) {
	t.Helper()
	db, err := sql.Open("sqlite", dataSource(path, time.Second))
	if err != nil {
		t.Fatal(err)
	}
	conn, err := db.Conn(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.ExecContext(context.Background(), "BEGIN IMMEDIATE"); err != nil {
		t.Fatal(err)
	}
	return func() {
		conn.ExecContext(context.Background(), "ROLLBACK")
		conn.Close()
		db.Close()
	}
}

func TestWaitsForAnotherWriter(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "queue.db")
	s := openAt(t, path)
	release := holdWriteLock(t, path)
	go func() {
		time.Sleep(300 * time.Millisecond)
		release()
	}()
	id, err := s.Enqueue(ctx, queue.StreamTips, []byte("waited its turn"))
	if err != nil {
		t.Fatalf("Enqueue while another connection held the lock briefly: %v", err)
	}
	if m, err := s.Get(ctx, queue.StreamTips, id); err != nil || string(m.Body) != "waited its turn" {
		t.Fatalf("Get(%s) = %q, %v", id, m.Body, err)
	}
}

func TestBusyTimeoutFailsCleanly(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "queue.db")
	s, err := Open(ctx, path, Options{BusyTimeout: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	release := holdWriteLock(t, path)
	_, err = s.Enqueue(ctx, queue.StreamTips, []byte("refused"))
	release()
	if err == nil {
		t.Fatal("Enqueue succeeded while another connection held the write lock past the busy timeout")
	}
	msgs, err := s.List(ctx, queue.StreamTips, "", 10)
	if err != nil || len(msgs) != 0 {
		t.Fatalf("after a failed Enqueue the stream holds %d messages (%v)", len(msgs), err)
	}
	if _, err := s.Enqueue(ctx, queue.StreamTips, []byte("later")); err != nil {
		t.Fatalf("Enqueue after the lock was released: %v", err)
	}
}

// TestRememberForgets checks that expired keys leave the file, not just
// stop counting: they are keyed hashes of sources' identifiers.
func TestRememberForgets(t *testing.T) {
	ctx := context.Background()
	s := openAt(t, filepath.Join(t.TempDir(), "queue.db"))
	for _, k := range []string{"hmac-a", "hmac-b"} {
		if _, err := s.Remember(ctx, k, 50*time.Millisecond); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.Remember(ctx, "hmac-keep", time.Hour); err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond)
	s.sweep.Store(0) // as if the last sweep was long ago
	if _, err := s.Remember(ctx, "hmac-new", time.Hour); err != nil {
		t.Fatal(err)
	}
	rows, err := s.read.QueryContext(ctx, "SELECT key FROM remember ORDER BY key")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var keys []string
	for rows.Next() {
		var k string
		rows.Scan(&k)
		keys = append(keys, k)
	}
	if got := strings.Join(keys, " "); got != "hmac-keep hmac-new" {
		t.Fatalf("remembered keys after the sweep: %s", got)
	}
}
