package embedded

import (
	"context"
	"os"
	"path/filepath"
	"testing"

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
	var sync int
	var mode string
	err := s.do(context.Background(), false, func(tx *txn) error {
		if err := tx.row("PRAGMA synchronous").Scan(&sync); err != nil {
			return err
		}
		return tx.row("PRAGMA journal_mode").Scan(&mode)
	})
	if err != nil {
		t.Fatal(err)
	}
	if sync != 2 || mode != "wal" {
		t.Fatalf("synchronous=%d journal_mode=%s, want 2 (FULL) and wal", sync, mode)
	}
}
