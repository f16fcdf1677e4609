package embedded

import (
	"context"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/flarehq/flare/queue"
	"github.com/flarehq/flare/queue/queuetest"
)

// storedTimes reads every time column of the file, except pending
// deliveries (see SECURITY.md), through a connection of its own.
func storedTimes(t *testing.T, q queue.Queue) []int64 {
	t.Helper()
	s := q.(*Store)
	var out []int64
	for _, query := range []string{
		`SELECT ms FROM messages`,
		`SELECT expires FROM remember`,
		`SELECT created FROM blobs`,
		`SELECT last_ms FROM groups WHERE last_ms > 0`,
		`SELECT ms FROM pending`,
	} {
		rows, err := s.read.QueryContext(context.Background(), query)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var ms int64
			if err := rows.Scan(&ms); err != nil {
				t.Fatal(err)
			}
			out = append(out, ms)
		}
		rows.Close()
	}
	return out
}

func TestStoredTimes(t *testing.T) {
	queuetest.RunStoredTimes(t, fresh, storedTimes)
}

// TestIDsFollowALaterLastID: a store whose last id is later than the
// current hour (written before ids were coarsened, or by a process whose
// clock is ahead) keeps its order: the next id takes the last one's ms.
func TestIDsFollowALaterLastID(t *testing.T) {
	ctx := context.Background()
	s := openAt(t, filepath.Join(t.TempDir(), "queue.db"))
	later := time.Now().Add(90*time.Minute).UnixMilli() + 7 // a legacy, millisecond id
	err := s.do(ctx, true, func(tx *txn) error {
		_, err := tx.exec(`INSERT INTO messages (stream, ms, seq, body) VALUES (?, ?, 3, ?)`, queue.StreamTips, later, []byte("legacy"))
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	id, err := s.Enqueue(ctx, queue.StreamTips, []byte("new"))
	if err != nil {
		t.Fatal(err)
	}
	if want := strconv.FormatInt(later, 10) + "-4"; id != want {
		t.Fatalf("id after a later last id = %s, want %s", id, want)
	}
	all, err := s.List(ctx, queue.StreamTips, "", 10)
	if err != nil || len(all) != 2 || string(all[1].Body) != "new" {
		t.Fatalf("List = %v, %v", all, err)
	}
	if all[0].Enqueued.UnixMilli()%time.Hour.Milliseconds() != 0 {
		t.Fatalf("Enqueued of a legacy id = %v, want the hour only", all[0].Enqueued)
	}
}

// TestLegacyChunksCountAsCommitted opens a store written before blobs were
// tracked: its chunks may belong to queued tips, so no sweep removes them.
func TestLegacyChunksCountAsCommitted(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "queue.db")
	s := openAt(t, path)
	if err := s.PutChunk(ctx, "att-old", 0, []byte("old")); err != nil {
		t.Fatal(err)
	}
	// Make the file look like one from before: no blobs table.
	err := s.do(ctx, false, func(tx *txn) error {
		_, err := tx.exec(`DROP TABLE blobs`)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	s = openAt(t, path)
	n, err := s.SweepBlobs(ctx, time.Now().Add(1000*time.Hour))
	if err != nil || n != 0 {
		t.Fatalf("SweepBlobs on a legacy store removed %d blobs (%v), want 0", n, err)
	}
	if got, err := s.GetChunk(ctx, "att-old", 0); err != nil || !strings.EqualFold(string(got), "old") {
		t.Fatalf("legacy chunk = %q, %v", got, err)
	}
}
