package queuetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/flarehq/flare/queue"
)

// Opener returns a fresh, empty queue for one test and registers its own
// cleanup with t.
type Opener func(t *testing.T) queue.Queue

type subtest struct {
	name string
	fn   func(t *testing.T, q queue.Queue)
}

// Run runs the whole conformance suite against the queues open returns:
// RunStore and RunStreams. Every backend must pass it.
func Run(t *testing.T, open Opener) {
	t.Helper()
	RunStore(t, open)
	RunStreams(t, open)
}

// RunStore runs the part of the suite that needs no consumer: appending and
// listing messages, chunks, records, logs, Remember and Close. Test doubles
// without consumer groups (internal/memq) run this part only.
func RunStore(t *testing.T, open Opener) {
	t.Helper()
	runAll(t, open, []subtest{
		{"EnqueueGetList", testEnqueueGetList},
		{"Chunks", testChunks},
		{"Records", testRecords},
		{"RecordsConcurrentWriters", testRecordsConcurrent},
		{"Logs", testLogs},
		{"ListRecords", testListRecords},
		{"Remember", testRemember},
		{"Delete", testDelete},
		{"DeleteRecord", testDeleteRecord},
		{"ConcurrentEnqueue", testConcurrentEnqueue},
		{"HourIDs", testHourIDs},
		{"Blobs", testBlobs},
		{"Close", testClose},
	})
}

// RunStreams runs the consumer-group part of the suite: reading, acking,
// redelivery, blocking reads and their cancellation.
func RunStreams(t *testing.T, open Opener) {
	t.Helper()
	runAll(t, open, []subtest{
		{"StreamsAreSeparate", testStreamsAreSeparate},
		{"ReadAck", testReadAck},
		{"GroupsAreIndependent", testGroupsAreIndependent},
		{"ConsumersShareWork", testConsumersShareWork},
		{"ConcurrentConsumers", testConcurrentConsumers},
		{"Redelivery", testRedelivery},
		{"DeleteDropsPending", testDeleteDropsPending},
		{"BlockWakesOnEnqueue", testBlockWakes},
		{"BlockTimesOut", testBlockTimesOut},
		{"ContextCancel", testContextCancel},
		{"CloseWakesBlockedRead", testCloseWakesRead},
	})
}

func runAll(t *testing.T, open Opener, tests []subtest) {
	t.Helper()
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.fn(t, open(t))
		})
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func ctxFor(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func enqueueN(t *testing.T, q queue.Queue, stream string, n int) []string {
	t.Helper()
	ids := make([]string, n)
	for i := range ids {
		id, err := q.Enqueue(ctxFor(t), stream, body(i))
		must(t, err)
		ids[i] = id
	}
	return ids
}

func body(i int) []byte { return fmt.Appendf(nil, "sealed-%04d\x00\xff", i) }

func ids(msgs []queue.Message) []string {
	out := make([]string, len(msgs))
	for i, m := range msgs {
		out[i] = m.ID
	}
	return out
}

func sameIDs(t *testing.T, what string, got, want []string) {
	t.Helper()
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("%s: got ids %v, want %v", what, got, want)
	}
}

func testEnqueueGetList(t *testing.T, q queue.Queue) {
	ctx := ctxFor(t)
	before := time.UnixMilli(queue.HourMillis(time.Now()))
	want := enqueueN(t, q, queue.StreamTips, 5)
	after := time.Now().Add(time.Second)
	for i := 1; i < len(want); i++ {
		if queue.CompareIDs(want[i-1], want[i]) >= 0 {
			t.Fatalf("ids not increasing: %s then %s", want[i-1], want[i])
		}
	}
	for i, id := range want {
		m, err := q.Get(ctx, queue.StreamTips, id)
		must(t, err)
		if m.ID != id || !bytes.Equal(m.Body, body(i)) {
			t.Fatalf("Get(%s) = %s %q, want body %q", id, m.ID, m.Body, body(i))
		}
		if m.Enqueued.Before(before) || m.Enqueued.After(after) {
			t.Fatalf("Get(%s).Enqueued = %v, want between %v and %v", id, m.Enqueued, before, after)
		}
	}
	all, err := q.List(ctx, queue.StreamTips, "", 100)
	must(t, err)
	sameIDs(t, "List from start", ids(all), want)
	for i, m := range all {
		if !bytes.Equal(m.Body, body(i)) {
			t.Fatalf("List body %d = %q", i, m.Body)
		}
	}
	page, err := q.List(ctx, queue.StreamTips, want[1], 2)
	must(t, err)
	sameIDs(t, "List after second", ids(page), want[2:4])
	rest, err := q.List(ctx, queue.StreamTips, want[4], 10)
	must(t, err)
	sameIDs(t, "List after last", ids(rest), nil)

	for _, id := range []string{"1-0", "99999999999999-7"} {
		if _, err := q.Get(ctx, queue.StreamTips, id); !errors.Is(err, queue.ErrNotFound) {
			t.Errorf("Get(%s) of unknown id: err = %v, want ErrNotFound", id, err)
		}
	}
	if _, err := q.Get(ctx, "nosuchstream", want[0]); !errors.Is(err, queue.ErrNotFound) {
		t.Errorf("Get on another stream: err = %v, want ErrNotFound", err)
	}
	testInvalidIDs(t, q)
}

// testInvalidIDs checks that ids that are not "<ms>-<seq>" are refused
// with ErrInvalidID (and, for Get, also ErrNotFound) and change nothing.
func testInvalidIDs(t *testing.T, q queue.Queue) {
	ctx := ctxFor(t)
	for _, id := range []string{"abc", "1-x", "-1", "+1", "1-2-3", "", " 1-0"} {
		if id != "" {
			_, err := q.Get(ctx, queue.StreamTips, id)
			if !errors.Is(err, queue.ErrInvalidID) || !errors.Is(err, queue.ErrNotFound) {
				t.Errorf("Get(%q): err = %v, want ErrInvalidID and ErrNotFound", id, err)
			}
			if _, err := q.List(ctx, queue.StreamTips, id, 10); !errors.Is(err, queue.ErrInvalidID) {
				t.Errorf("List after %q: err = %v, want ErrInvalidID", id, err)
			}
		}
		if err := q.Ack(ctx, queue.StreamTips, "g", id); !errors.Is(err, queue.ErrInvalidID) {
			t.Errorf("Ack(%q): err = %v, want ErrInvalidID", id, err)
		}
	}
}

func testStreamsAreSeparate(t *testing.T, q queue.Queue) {
	ctx := ctxFor(t)
	tips := enqueueN(t, q, queue.StreamTips, 2)
	out := enqueueN(t, q, queue.StreamOutbox, 3)
	got, err := q.List(ctx, queue.StreamTips, "", 10)
	must(t, err)
	sameIDs(t, "tips", ids(got), tips)
	got, err = q.List(ctx, queue.StreamOutbox, "", 10)
	must(t, err)
	sameIDs(t, "outbox", ids(got), out)
	msgs, err := q.Read(ctx, queue.StreamOutbox, queue.ReadOptions{Group: "g", Consumer: "c", Count: 10})
	must(t, err)
	sameIDs(t, "read outbox", ids(msgs), out)
}

func testReadAck(t *testing.T, q queue.Queue) {
	ctx := ctxFor(t)
	want := enqueueN(t, q, queue.StreamTips, 3)
	opts := queue.ReadOptions{Group: "console", Consumer: "alice", Count: 10}
	msgs, err := q.Read(ctx, queue.StreamTips, opts)
	must(t, err)
	sameIDs(t, "first read", ids(msgs), want)
	for i, m := range msgs {
		if m.Deliveries != 1 || !bytes.Equal(m.Body, body(i)) {
			t.Fatalf("message %d: deliveries %d body %q", i, m.Deliveries, m.Body)
		}
	}
	again, err := q.Read(ctx, queue.StreamTips, opts)
	must(t, err)
	sameIDs(t, "second read", ids(again), nil)
	must(t, q.Ack(ctx, queue.StreamTips, "console", want...))
	must(t, q.Ack(ctx, queue.StreamTips, "console", want[0])) // twice: no error
	must(t, q.Ack(ctx, queue.StreamTips, "console", "1-0"))   // unknown: no error
	must(t, q.Ack(ctx, queue.StreamTips, "console"))          // none: no error
	more, err := q.Enqueue(ctx, queue.StreamTips, []byte("later"))
	must(t, err)
	opts.Count = 0 // means 1
	msgs, err = q.Read(ctx, queue.StreamTips, opts)
	must(t, err)
	sameIDs(t, "read after ack", ids(msgs), []string{more})
}

func testGroupsAreIndependent(t *testing.T, q queue.Queue) {
	ctx := ctxFor(t)
	want := enqueueN(t, q, queue.StreamTips, 4)
	a, err := q.Read(ctx, queue.StreamTips, queue.ReadOptions{Group: "a", Consumer: "x", Count: 2})
	must(t, err)
	sameIDs(t, "group a", ids(a), want[:2])
	must(t, q.Ack(ctx, queue.StreamTips, "a", ids(a)...))
	// A group created later still starts at the beginning of the stream.
	b, err := q.Read(ctx, queue.StreamTips, queue.ReadOptions{Group: "b", Consumer: "x", Count: 10})
	must(t, err)
	sameIDs(t, "group b", ids(b), want)
}

func testConsumersShareWork(t *testing.T, q queue.Queue) {
	ctx := ctxFor(t)
	want := enqueueN(t, q, queue.StreamTips, 20)
	seen := map[string]string{}
	got := map[string]int{}
	for turn := 0; ; turn++ {
		consumer := []string{"alice", "bob"}[turn%2]
		msgs, err := q.Read(ctx, queue.StreamTips, queue.ReadOptions{Group: "g", Consumer: consumer, Count: 3})
		must(t, err)
		if len(msgs) == 0 {
			break
		}
		for _, m := range msgs {
			if prev, ok := seen[m.ID]; ok {
				t.Fatalf("message %s delivered to %s and %s", m.ID, prev, consumer)
			}
			seen[m.ID] = consumer
			got[consumer]++
		}
		must(t, q.Ack(ctx, queue.StreamTips, "g", ids(msgs)...))
	}
	if len(seen) != len(want) || got["alice"] == 0 || got["bob"] == 0 {
		t.Fatalf("delivered %d of %d messages, alice %d bob %d", len(seen), len(want), got["alice"], got["bob"])
	}
}

func testConcurrentConsumers(t *testing.T, q queue.Queue) {
	ctx := ctxFor(t)
	want := enqueueN(t, q, queue.StreamTips, 60)
	var mu sync.Mutex
	seen := map[string]int{}
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for c := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				msgs, err := q.Read(ctx, queue.StreamTips, queue.ReadOptions{Group: "g", Consumer: fmt.Sprint("c", c), Count: 4})
				if err != nil {
					errs <- err
					return
				}
				if len(msgs) == 0 {
					return
				}
				mu.Lock()
				for _, m := range msgs {
					seen[m.ID]++
				}
				mu.Unlock()
				if err := q.Ack(ctx, queue.StreamTips, "g", ids(msgs)...); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	for _, id := range want {
		if seen[id] != 1 {
			t.Fatalf("message %s delivered %d times, want exactly once", id, seen[id])
		}
	}
	if len(seen) != len(want) {
		t.Fatalf("saw %d distinct messages, want %d", len(seen), len(want))
	}
}

func testRedelivery(t *testing.T, q queue.Queue) {
	ctx := ctxFor(t)
	// Visibility is the idle time a Read asks for before it takes a
	// message over, so a long one cannot expire however slow the machine,
	// and a short one has surely expired after sleeping past it.
	const short = 200 * time.Millisecond
	want := enqueueN(t, q, queue.StreamTips, 2)
	a, err := q.Read(ctx, queue.StreamTips, queue.ReadOptions{Group: "g", Consumer: "dies", Count: 10, Visibility: short})
	must(t, err)
	sameIDs(t, "first consumer", ids(a), want)
	must(t, q.Ack(ctx, queue.StreamTips, "g", want[0]))
	// The first consumer now dies holding want[1].
	b, err := q.Read(ctx, queue.StreamTips, queue.ReadOptions{Group: "g", Consumer: "bob", Count: 1, Visibility: time.Hour})
	must(t, err)
	sameIDs(t, "before the visibility timeout", ids(b), nil)
	newer, err := q.Enqueue(ctx, queue.StreamTips, []byte("newer"))
	must(t, err)

	time.Sleep(short + 100*time.Millisecond)
	bob := queue.ReadOptions{Group: "g", Consumer: "bob", Count: 1, Visibility: short}
	b, err = q.Read(ctx, queue.StreamTips, bob)
	must(t, err)
	sameIDs(t, "after the visibility timeout", ids(b), want[1:])
	if b[0].Deliveries != 2 || !bytes.Equal(b[0].Body, body(1)) {
		t.Fatalf("redelivered message: deliveries %d body %q, want 2 and %q", b[0].Deliveries, b[0].Body, body(1))
	}
	bob.Visibility = time.Hour
	b2, err := q.Read(ctx, queue.StreamTips, bob)
	must(t, err)
	sameIDs(t, "new message after the redelivered one", ids(b2), []string{newer})
	must(t, q.Ack(ctx, queue.StreamTips, "g", want[1], newer))

	time.Sleep(short + 100*time.Millisecond)
	rest, err := q.Read(ctx, queue.StreamTips, queue.ReadOptions{Group: "g", Consumer: "carol", Count: 10, Visibility: short})
	must(t, err)
	sameIDs(t, "after every ack", ids(rest), nil)
}

func testBlockWakes(t *testing.T, q queue.Queue) {
	ctx := ctxFor(t)
	type result struct {
		msgs []queue.Message
		err  error
	}
	done := make(chan result, 1)
	go func() {
		msgs, err := q.Read(ctx, queue.StreamTips, queue.ReadOptions{Group: "g", Consumer: "c", Block: 10 * time.Second})
		done <- result{msgs, err}
	}()
	time.Sleep(200 * time.Millisecond)
	select {
	case r := <-done:
		t.Fatalf("blocking Read returned before anything was enqueued: %v %v", ids(r.msgs), r.err)
	default:
	}
	id, err := q.Enqueue(ctx, queue.StreamTips, []byte("wake up"))
	must(t, err)
	r := <-done
	must(t, r.err)
	sameIDs(t, "blocked read", ids(r.msgs), []string{id})
}

func testBlockTimesOut(t *testing.T, q queue.Queue) {
	ctx := ctxFor(t)
	start := time.Now()
	msgs, err := q.Read(ctx, queue.StreamTips, queue.ReadOptions{Group: "g", Consumer: "c", Block: 300 * time.Millisecond})
	must(t, err)
	if len(msgs) != 0 {
		t.Fatalf("read %v from an empty stream", ids(msgs))
	}
	if waited := time.Since(start); waited < 250*time.Millisecond {
		t.Fatalf("Read with Block 300ms returned after %v", waited)
	}
}
