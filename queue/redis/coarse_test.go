package redis

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/flarehq/flare/internal/testredis"
	"github.com/flarehq/flare/queue"
	"github.com/flarehq/flare/queue/queuetest"
)

// storedTimes reads, for every key under the queue's prefix, the ids of a
// stream, the absolute expiry Redis keeps (PEXPIRETIME) and the creation
// time of a blob.
func storedTimes(t *testing.T, q queue.Queue) []int64 {
	t.Helper()
	ctx := context.Background()
	rq := q.(*Queue)
	c := rq.Client()
	var out []int64
	keys, err := c.Keys(ctx, rq.prefix+"*").Result()
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range keys {
		typ, err := c.Type(ctx, k).Result()
		if err != nil {
			t.Fatal(err)
		}
		if typ == "stream" {
			msgs, err := c.XRange(ctx, k, "-", "+").Result()
			if err != nil {
				t.Fatal(err)
			}
			for _, m := range msgs {
				ms, _, _ := strings.Cut(m.ID, "-")
				n, _ := strconv.ParseInt(ms, 10, 64)
				out = append(out, n)
			}
		}
		at, err := c.Do(ctx, "PEXPIRETIME", k).Int64()
		if err != nil {
			t.Fatal(err)
		}
		if at >= 0 {
			out = append(out, at)
		}
		if strings.HasSuffix(k, "}:m") {
			created, err := c.HGet(ctx, k, "created").Int64()
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, created)
		}
	}
	return out
}

// msTimes finds what look like millisecond times near now in text.
var msTimes = regexp.MustCompile(`\b1[0-9]{12}\b`)

// TestStoredTimes runs the conformance check on what Redis holds, then
// reads Redis's append-only files from disk: every time in them near now
// (stream ids, expiries) must be a whole hour too.
func TestStoredTimes(t *testing.T) {
	srv := testredis.Start(t)
	queuetest.RunStoredTimes(t, opener(srv), storedTimes)
	found := 0
	lo, hi := time.Now().Add(-24*time.Hour).UnixMilli(), time.Now().Add(72*time.Hour).UnixMilli()
	err := filepath.WalkDir(srv.Dir(), func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.Contains(path, "appendonly") {
			return err
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, m := range msTimes.FindAll(data, -1) {
			n, _ := strconv.ParseInt(string(m), 10, 64)
			if n < lo || n > hi {
				continue
			}
			found++
			if n%time.Hour.Milliseconds() != 0 {
				t.Errorf("%s holds the time %d (%v), not a whole hour", filepath.Base(path), n, time.UnixMilli(n).UTC())
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d times found on disk", found)
	if found < 9 {
		t.Fatalf("found %d times in the append-only files, want the ids and expiries written (at least 9)", found)
	}
}

// TestIDsFollowALaterLastID: a stream whose last id is later than the
// current hour (from before ids were coarsened, or from a gateway whose
// clock is ahead) refuses "<hour>-*"; Enqueue then takes the last id's ms
// part and the stream stays ordered.
func TestIDsFollowALaterLastID(t *testing.T) {
	ctx := context.Background()
	q := opener(testredis.Start(t))(t).(*Queue)
	later := time.Now().Add(90*time.Minute).UnixMilli() + 7
	legacy := strconv.FormatInt(later, 10) + "-3"
	if err := q.Client().XAdd(ctx, &goredis.XAddArgs{Stream: q.streamKey(queue.StreamTips), ID: legacy, Values: []any{bodyField, "legacy"}}).Err(); err != nil {
		t.Fatal(err)
	}
	id, err := q.Enqueue(ctx, queue.StreamTips, []byte("new"))
	if err != nil {
		t.Fatal(err)
	}
	if want := strconv.FormatInt(later, 10) + "-4"; id != want {
		t.Fatalf("id after a later last id = %s, want %s", id, want)
	}
	all, err := q.List(ctx, queue.StreamTips, "", 10)
	if err != nil || len(all) != 2 || string(all[1].Body) != "new" {
		t.Fatalf("List = %v, %v", all, err)
	}
	if all[0].Enqueued.UnixMilli()%time.Hour.Milliseconds() != 0 {
		t.Fatalf("Enqueued of a legacy id = %v, want the hour only", all[0].Enqueued)
	}
}
