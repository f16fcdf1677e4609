package queuetest

import (
	"bytes"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/flarehq/flare/queue"
)

// Reopener ends q the hard way its backend allows (Close, or killing its
// server with SIGKILL) and returns a queue opened again on the same
// storage.
type Reopener func(t *testing.T, q queue.Queue) queue.Queue

// RunDurability checks that what a queue acknowledged survives reopen:
// every enqueued message, chunk, record and log entry, and each consumer
// group's position and pending messages.
func RunDurability(t *testing.T, open Opener, reopen Reopener) {
	t.Helper()
	t.Run("Durability", func(t *testing.T) {
		ctx := ctxFor(t)
		q := open(t)
		want := enqueueN(t, q, queue.StreamTips, 30)
		must(t, q.PutChunk(ctx, "blob", 0, []byte("chunk zero")))
		v, err := q.PutRecord(ctx, "triage/1", []byte("state"), 0)
		must(t, err)
		must(t, q.AppendLog(ctx, "history/1", []byte("opened")))
		read, err := q.Read(ctx, queue.StreamTips, queue.ReadOptions{Group: "g", Consumer: "dies", Count: 10})
		must(t, err)
		must(t, q.Ack(ctx, queue.StreamTips, "g", ids(read[:5])...))

		q = reopen(t, q)
		all, err := q.List(ctx, queue.StreamTips, "", 100)
		must(t, err)
		sameIDs(t, "after reopen", ids(all), want)
		for i, m := range all {
			if !bytes.Equal(m.Body, body(i)) {
				t.Fatalf("message %s after reopen: %q", m.ID, m.Body)
			}
		}
		if c, err := q.GetChunk(ctx, "blob", 0); err != nil || string(c) != "chunk zero" {
			t.Fatalf("chunk after reopen: %q, %v", c, err)
		}
		if val, ver, err := q.GetRecord(ctx, "triage/1"); err != nil || string(val) != "state" || ver != v {
			t.Fatalf("record after reopen: %q v%d, %v", val, ver, err)
		}
		if log, err := q.LogEntries(ctx, "history/1"); err != nil || len(log) != 1 || string(log[0]) != "opened" {
			t.Fatalf("log after reopen: %q, %v", log, err)
		}
		// The group remembers what it delivered: the five unacknowledged
		// messages come back once idle, then the twenty never read.
		time.Sleep(50 * time.Millisecond)
		got, err := q.Read(ctx, queue.StreamTips, queue.ReadOptions{Group: "g", Consumer: "next", Count: 100, Visibility: 10 * time.Millisecond})
		must(t, err)
		sameIDs(t, "group after reopen", ids(got), want[5:])
		for i, m := range got {
			if wantN := map[bool]int{true: 2, false: 1}[i < 5]; m.Deliveries != wantN {
				t.Fatalf("message %s: deliveries %d, want %d", m.ID, m.Deliveries, wantN)
			}
		}
	})
}

// RunCrashDuringEnqueue enqueues from many goroutines while crash ends the
// queue the hard way partway through, then checks that every Enqueue that
// returned an id is there after reopen. Enqueues that fail because of the
// crash are expected; acknowledged ones must never be lost.
func RunCrashDuringEnqueue(t *testing.T, open Opener, crash Reopener) {
	t.Helper()
	t.Run("CrashDuringEnqueue", func(t *testing.T) {
		ctx := ctxFor(t)
		q := open(t)
		var (
			mu    sync.Mutex
			acked = map[string][]byte{}
			wg    sync.WaitGroup
			stop  atomic.Bool
		)
		for w := range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; !stop.Load(); i++ {
					b := fmt.Appendf(nil, "w%d-%d", w, i)
					id, err := q.Enqueue(ctx, queue.StreamTips, b)
					if err != nil {
						return
					}
					mu.Lock()
					acked[id] = b
					mu.Unlock()
				}
			}()
		}
		for {
			mu.Lock()
			n := len(acked)
			mu.Unlock()
			if n >= 200 {
				break
			}
			time.Sleep(5 * time.Millisecond)
		}
		q2 := crash(t, q)
		stop.Store(true)
		wg.Wait()
		all, err := q2.List(ctx, queue.StreamTips, "", 1<<20)
		must(t, err)
		stored := map[string][]byte{}
		for _, m := range all {
			stored[m.ID] = m.Body
		}
		for id, b := range acked {
			if !bytes.Equal(stored[id], b) {
				t.Fatalf("acknowledged message %s lost or changed after crash (%d acknowledged, %d stored)", id, len(acked), len(stored))
			}
		}
		t.Logf("%d enqueues acknowledged before the crash, %d messages stored after", len(acked), len(stored))
	})
}
