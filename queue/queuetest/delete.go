package queuetest

import (
	"errors"
	"testing"
	"time"

	"github.com/flarehq/flare/queue"
)

// testDelete: deleted messages are gone from Get and List; others stay.
func testDelete(t *testing.T, q queue.Queue) {
	ctx := ctxFor(t)
	in := enqueueN(t, q, queue.StreamOutbox, 3)
	must(t, q.Delete(ctx, queue.StreamOutbox, in[1]))
	if _, err := q.Get(ctx, queue.StreamOutbox, in[1]); !errors.Is(err, queue.ErrNotFound) {
		t.Fatalf("Get of a deleted message: err = %v, want ErrNotFound", err)
	}
	got, err := q.List(ctx, queue.StreamOutbox, "", 10)
	must(t, err)
	sameIDs(t, "after delete", ids(got), []string{in[0], in[2]})
	// Deleting again, an unknown id, or nothing is not an error.
	must(t, q.Delete(ctx, queue.StreamOutbox, in[1]))
	must(t, q.Delete(ctx, queue.StreamOutbox))
	if err := q.Delete(ctx, queue.StreamOutbox, "not-an-id"); !errors.Is(err, queue.ErrInvalidID) {
		t.Fatalf("Delete of a malformed id: err = %v, want ErrInvalidID", err)
	}
	// Other streams are untouched.
	tips := enqueueN(t, q, queue.StreamTips, 1)
	must(t, q.Delete(ctx, queue.StreamOutbox, in[0], in[2]))
	if _, err := q.Get(ctx, queue.StreamTips, tips[0]); err != nil {
		t.Fatalf("deleting from the outbox touched tips: %v", err)
	}
}

// testDeleteRecord: a deleted record, its log and its listing are gone, and
// the key can be created afresh.
func testDeleteRecord(t *testing.T, q queue.Queue) {
	ctx := ctxFor(t)
	_, err := q.PutRecord(ctx, "reply/a/1", []byte("sealed reply"), 0)
	must(t, err)
	_, err = q.PutRecord(ctx, "reply/a/2", []byte("other"), 0)
	must(t, err)
	must(t, q.AppendLog(ctx, "reply/a/1", []byte("entry")))
	must(t, q.DeleteRecord(ctx, "reply/a/1"))
	if _, _, err := q.GetRecord(ctx, "reply/a/1"); !errors.Is(err, queue.ErrNotFound) {
		t.Fatalf("GetRecord after delete: err = %v, want ErrNotFound", err)
	}
	keys, err := q.ListRecords(ctx, "reply/a/")
	must(t, err)
	if len(keys) != 1 || keys[0] != "reply/a/2" {
		t.Fatalf("ListRecords after delete = %q, want only reply/a/2", keys)
	}
	entries, err := q.LogEntries(ctx, "reply/a/1")
	must(t, err)
	if len(entries) != 0 {
		t.Fatalf("the deleted record's log kept %d entries", len(entries))
	}
	must(t, q.DeleteRecord(ctx, "reply/a/1"))
	if _, err := q.PutRecord(ctx, "reply/a/1", []byte("new"), 0); err != nil {
		t.Fatalf("re-creating a deleted record at version 0: %v", err)
	}
}

// testDeleteDropsPending: a message deleted while a consumer holds it is
// never handed out again.
func testDeleteDropsPending(t *testing.T, q queue.Queue) {
	ctx := ctxFor(t)
	in := enqueueN(t, q, queue.StreamOutbox, 2)
	opts := queue.ReadOptions{Group: "gw", Consumer: "a", Count: 10, Visibility: 50 * time.Millisecond}
	got, err := q.Read(ctx, queue.StreamOutbox, opts)
	must(t, err)
	sameIDs(t, "first read", ids(got), in)
	must(t, q.Delete(ctx, queue.StreamOutbox, in[0]))
	time.Sleep(150 * time.Millisecond)
	opts.Consumer = "b"
	again, err := q.Read(ctx, queue.StreamOutbox, opts)
	must(t, err)
	sameIDs(t, "redelivered", ids(again), in[1:])
}
