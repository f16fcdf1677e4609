package memq_test

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/flarehq/flare/internal/memq"
	"github.com/flarehq/flare/queue"
	"github.com/flarehq/flare/queue/queuetest"
)

// TestConformance runs the store part of the conformance suite. memq has
// no consumer groups (Read), so the streams part is the real backends'.
func TestConformance(t *testing.T) {
	queuetest.RunStore(t, func(t *testing.T) queue.Queue { return memq.New() })
}

// TestDump checks that Dump holds everything a sentinel scan must see,
// including the keys given to Remember, and nothing for an unused queue.
func TestDump(t *testing.T) {
	ctx := context.Background()
	q := memq.New()
	if d := q.Dump(); len(d) != 0 {
		t.Fatalf("Dump of an empty queue = %q", d)
	}
	id, err := q.Enqueue(ctx, "stream-S", []byte("body-B"))
	if err != nil {
		t.Fatal(err)
	}
	steps := []error{
		q.PutChunk(ctx, "blob-C", 0, []byte("chunk-C")),
		q.AppendLog(ctx, "log-L", []byte("entry-L")),
	}
	_, err = q.PutRecord(ctx, "record-R", []byte("value-R"), 0)
	steps = append(steps, err)
	_, err = q.Remember(ctx, "remember-K", time.Minute)
	steps = append(steps, err)
	for _, err := range steps {
		if err != nil {
			t.Fatal(err)
		}
	}
	d := q.Dump()
	for _, want := range []string{"stream-S", id, "body-B", "blob-C", "chunk-C", "log-L", "entry-L", "record-R", "value-R", "remember-K"} {
		if !bytes.Contains(d, []byte(want)) {
			t.Errorf("Dump lacks %q", want)
		}
	}
}

// TestStoredTimes: memq keeps times as the real backends do, so tests that
// scan it see what a seized server would hold.
func TestStoredTimes(t *testing.T) {
	queuetest.RunStoredTimes(t, func(t *testing.T) queue.Queue { return memq.New() },
		func(t *testing.T, q queue.Queue) []int64 { return q.(*memq.Queue).Times() })
}
