package queuetest

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/flarehq/flare/queue"
)

const hourMs = int64(queue.TimePrecision / time.Millisecond)

// idMillis returns the ms part of a "<ms>-<seq>" id.
func idMillis(t *testing.T, id string) int64 {
	t.Helper()
	ms, _, ok := strings.Cut(id, "-")
	n, err := strconv.ParseInt(ms, 10, 64)
	if !ok || err != nil {
		t.Fatalf("id %q is not <ms>-<seq>", id)
	}
	return n
}

// testHourIDs checks that ids and Enqueued carry the hour only, and that
// the stream stays ordered within the hour.
func testHourIDs(t *testing.T, q queue.Queue) {
	ctx := ctxFor(t)
	before := queue.HourMillis(time.Now())
	want := enqueueN(t, q, queue.StreamTips, 20)
	after := queue.HourMillis(time.Now())
	for i, id := range want {
		ms := idMillis(t, id)
		if ms%hourMs != 0 {
			t.Fatalf("id %s dates the message finer than an hour", id)
		}
		if ms < before || ms > after {
			t.Fatalf("id %s is not in the hour it was enqueued (%d..%d)", id, before, after)
		}
		if i > 0 && queue.CompareIDs(want[i-1], id) >= 0 {
			t.Fatalf("ids not increasing: %s then %s", want[i-1], id)
		}
		m, err := q.Get(ctx, queue.StreamTips, id)
		must(t, err)
		if m.Enqueued.UnixMilli()%hourMs != 0 || m.Enqueued.UnixMilli() != ms {
			t.Fatalf("Get(%s).Enqueued = %v, want the hour of its id", id, m.Enqueued)
		}
	}
	page, err := q.List(ctx, queue.StreamTips, want[9], 5)
	must(t, err)
	sameIDs(t, "List after the tenth id of one hour", ids(page), want[10:15])
}

// testBlobs checks the bookkeeping that lets a gateway sweep the chunks of
// uploads that never became part of a tip.
func testBlobs(t *testing.T, q queue.Queue) {
	ctx := ctxFor(t)
	now := time.Now()
	for i := range 3 {
		must(t, q.PutChunk(ctx, "orphan", i, []byte("orphan chunk")))
	}
	must(t, q.PutChunk(ctx, "kept", 0, []byte("kept chunk")))
	must(t, q.PutChunk(ctx, "kept", 1, []byte("kept chunk")))
	must(t, q.CommitBlobs(ctx, "kept"))
	must(t, q.PutChunk(ctx, "gone", 0, []byte("x")))
	must(t, q.DeleteBlob(ctx, "gone"))
	must(t, q.CommitBlobs(ctx))

	if err := q.CommitBlobs(ctx, "kept", "never-stored"); !errors.Is(err, queue.ErrNotFound) {
		t.Fatalf("CommitBlobs of a blob without chunks: err = %v, want ErrNotFound", err)
	}
	if err := q.CommitBlobs(ctx, "gone"); !errors.Is(err, queue.ErrNotFound) {
		t.Fatalf("CommitBlobs of a deleted blob: err = %v, want ErrNotFound", err)
	}

	// Within its creation hour a blob may still be uploading.
	n, err := q.SweepBlobs(ctx, now)
	must(t, err)
	if n != 0 {
		t.Fatalf("SweepBlobs(now) removed %d blobs created this hour", n)
	}
	if _, err := q.GetChunk(ctx, "orphan", 2); err != nil {
		t.Fatalf("a young orphan's chunk is gone: %v", err)
	}

	// Chunks written to a committed blob keep it committed.
	must(t, q.PutChunk(ctx, "kept", 2, []byte("kept chunk")))
	n, err = q.SweepBlobs(ctx, now.Add(2*time.Hour))
	must(t, err)
	if n != 1 {
		t.Fatalf("SweepBlobs two hours on removed %d blobs, want 1 (the orphan)", n)
	}
	for i := range 3 {
		if _, err := q.GetChunk(ctx, "orphan", i); !errors.Is(err, queue.ErrNotFound) {
			t.Fatalf("swept orphan's chunk %d: err = %v, want ErrNotFound", i, err)
		}
		got, err := q.GetChunk(ctx, "kept", i)
		must(t, err)
		if !bytes.Equal(got, []byte("kept chunk")) {
			t.Fatalf("committed blob's chunk %d = %q", i, got)
		}
	}
	n, err = q.SweepBlobs(ctx, now.Add(1000*time.Hour))
	must(t, err)
	if n != 0 {
		t.Fatalf("a later sweep removed %d blobs, want 0", n)
	}
	if err := q.CommitBlobs(ctx, "orphan"); !errors.Is(err, queue.ErrNotFound) {
		t.Fatalf("CommitBlobs of a swept blob: err = %v, want ErrNotFound", err)
	}
	must(t, q.DeleteBlob(ctx, "kept"))
	if _, err := q.GetChunk(ctx, "kept", 0); !errors.Is(err, queue.ErrNotFound) {
		t.Fatalf("DeleteBlob of a committed blob left a chunk: %v", err)
	}
}

// TimesFunc returns every time a backend stores outside message bodies
// and chunk data (message ids' ms parts, expiries, creation times), in
// Unix milliseconds, read from the backend's own storage.
type TimesFunc func(t *testing.T, q queue.Queue) []int64

// RunStoredTimes checks that after a mix of every kind of write, each
// time the backend stores (as times reports it) is a whole hour: nothing
// at rest dates a tip more finely. Delivery times of consumer groups,
// which a backend needs to the millisecond for visibility timeouts, are
// not part of it (see SECURITY.md).
func RunStoredTimes(t *testing.T, open Opener, times TimesFunc) {
	t.Helper()
	t.Run("StoredTimesAreHourAligned", func(t *testing.T) {
		q := open(t)
		ctx := ctxFor(t)
		enqueueN(t, q, queue.StreamTips, 3)
		enqueueN(t, q, queue.StreamOutbox, 2)
		for i, ttl := range []time.Duration{time.Hour, 90 * time.Minute, 24 * time.Hour, 48 * time.Hour} {
			_, err := q.Remember(ctx, fmt.Sprintf("marker-%d", i), ttl)
			must(t, err)
		}
		must(t, q.PutChunk(ctx, "att-committed", 0, []byte("c")))
		must(t, q.CommitBlobs(ctx, "att-committed"))
		must(t, q.PutChunk(ctx, "att-uploading", 0, []byte("u")))
		_, err := q.PutRecord(ctx, "triage/x", []byte("sealed"), 0)
		must(t, err)
		must(t, q.AppendLog(ctx, "history/x", []byte("sealed")))

		got := times(t, q)
		// 5 ids, 4 expiries, 2 blob creation times at least.
		if len(got) < 11 {
			t.Fatalf("the backend reports %d stored times, want at least 11: %v", len(got), got)
		}
		for _, ms := range got {
			if ms%hourMs != 0 {
				t.Errorf("stored time %d (%v) is not a whole hour", ms, time.UnixMilli(ms).UTC())
			}
		}
	})
}
