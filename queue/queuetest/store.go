package queuetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/flarehq/flare/queue"
)

func testContextCancel(t *testing.T, q queue.Queue) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := q.Read(ctx, queue.StreamTips, queue.ReadOptions{Group: "g", Consumer: "c", Block: 20 * time.Second})
		done <- err
	}()
	time.Sleep(100 * time.Millisecond)
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("blocked Read after cancel: err = %v, want context.Canceled", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("blocked Read did not return after its context was cancelled")
	}

	if _, err := q.Enqueue(ctx, queue.StreamTips, []byte("x")); !errors.Is(err, context.Canceled) {
		t.Errorf("Enqueue with a cancelled context: err = %v, want context.Canceled", err)
	}
	if _, _, err := q.GetRecord(ctx, "k"); !errors.Is(err, context.Canceled) {
		t.Errorf("GetRecord with a cancelled context: err = %v, want context.Canceled", err)
	}
	if err := q.PutChunk(ctx, "blob", 0, []byte("x")); !errors.Is(err, context.Canceled) {
		t.Errorf("PutChunk with a cancelled context: err = %v, want context.Canceled", err)
	}
}

func testChunks(t *testing.T, q queue.Queue) {
	ctx := ctxFor(t)
	big := bytes.Repeat([]byte{0xa5, 0x00, 0x7f}, 1<<20/3+1)
	chunks := [][]byte{[]byte("zero"), big, []byte("two")}
	for i, c := range chunks {
		must(t, q.PutChunk(ctx, "blob-1", i, c))
	}
	must(t, q.PutChunk(ctx, "blob-2", 0, []byte("other blob")))
	for i, c := range chunks {
		got, err := q.GetChunk(ctx, "blob-1", i)
		must(t, err)
		if !bytes.Equal(got, c) {
			t.Fatalf("chunk %d: got %d bytes, want %d", i, len(got), len(c))
		}
	}
	must(t, q.PutChunk(ctx, "blob-1", 1, []byte("replaced")))
	if got, err := q.GetChunk(ctx, "blob-1", 1); err != nil || string(got) != "replaced" {
		t.Fatalf("replaced chunk = %q, %v", got, err)
	}
	for _, c := range []struct {
		blob  string
		index int
	}{{"blob-1", 3}, {"blob-3", 0}} {
		if _, err := q.GetChunk(ctx, c.blob, c.index); !errors.Is(err, queue.ErrNotFound) {
			t.Errorf("GetChunk(%s, %d): err = %v, want ErrNotFound", c.blob, c.index, err)
		}
	}
	must(t, q.DeleteBlob(ctx, "blob-1"))
	for i := range chunks {
		if _, err := q.GetChunk(ctx, "blob-1", i); !errors.Is(err, queue.ErrNotFound) {
			t.Errorf("chunk %d after DeleteBlob: err = %v, want ErrNotFound", i, err)
		}
	}
	if got, err := q.GetChunk(ctx, "blob-2", 0); err != nil || string(got) != "other blob" {
		t.Fatalf("DeleteBlob touched another blob: %q, %v", got, err)
	}
	must(t, q.DeleteBlob(ctx, "never-stored"))
}

func testRecords(t *testing.T, q queue.Queue) {
	ctx := ctxFor(t)
	if _, _, err := q.GetRecord(ctx, "triage/1"); !errors.Is(err, queue.ErrNotFound) {
		t.Fatalf("GetRecord of a missing key: err = %v, want ErrNotFound", err)
	}
	if _, err := q.PutRecord(ctx, "triage/1", []byte("x"), 3); !errors.Is(err, queue.ErrConflict) {
		t.Fatalf("PutRecord of a missing key at version 3: err = %v, want ErrConflict", err)
	}
	v1, err := q.PutRecord(ctx, "triage/1", []byte("new"), 0)
	must(t, err)
	if _, err := q.PutRecord(ctx, "triage/1", []byte("again"), 0); !errors.Is(err, queue.ErrConflict) {
		t.Fatalf("creating an existing record: err = %v, want ErrConflict", err)
	}
	v2, err := q.PutRecord(ctx, "triage/1", []byte("assigned"), v1)
	must(t, err)
	if v2 <= v1 || v1 <= 0 {
		t.Fatalf("versions %d then %d, want positive and increasing", v1, v2)
	}
	if _, err := q.PutRecord(ctx, "triage/1", []byte("stale"), v1); !errors.Is(err, queue.ErrConflict) {
		t.Fatalf("PutRecord at a stale version: err = %v, want ErrConflict", err)
	}
	val, ver, err := q.GetRecord(ctx, "triage/1")
	must(t, err)
	if string(val) != "assigned" || ver != v2 {
		t.Fatalf("GetRecord = %q v%d, want %q v%d", val, ver, "assigned", v2)
	}
}

func testRecordsConcurrent(t *testing.T, q queue.Queue) {
	ctx := ctxFor(t)
	v, err := q.PutRecord(ctx, "triage/race", []byte("start"), 0)
	must(t, err)
	const writers = 8
	var wg sync.WaitGroup
	results := make([]error, writers)
	for i := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, results[i] = q.PutRecord(ctx, "triage/race", fmt.Appendf(nil, "writer %d", i), v)
		}()
	}
	wg.Wait()
	winner := -1
	for i, err := range results {
		switch {
		case err == nil && winner >= 0:
			t.Fatalf("writers %d and %d both won from version %d", winner, i, v)
		case err == nil:
			winner = i
		case !errors.Is(err, queue.ErrConflict):
			t.Fatalf("writer %d: %v", i, err)
		}
	}
	if winner < 0 {
		t.Fatal("no writer won")
	}
	val, _, err := q.GetRecord(ctx, "triage/race")
	must(t, err)
	if want := fmt.Sprintf("writer %d", winner); string(val) != want {
		t.Fatalf("stored %q, want the winner's %q", val, want)
	}
}

func testLogs(t *testing.T, q queue.Queue) {
	ctx := ctxFor(t)
	got, err := q.LogEntries(ctx, "history/1")
	must(t, err)
	if len(got) != 0 {
		t.Fatalf("entries of an empty log: %q", got)
	}
	want := []string{"opened", "assigned\x00", "closed"}
	for _, e := range want {
		must(t, q.AppendLog(ctx, "history/1", []byte(e)))
	}
	must(t, q.AppendLog(ctx, "history/2", []byte("elsewhere")))
	got, err = q.LogEntries(ctx, "history/1")
	must(t, err)
	if len(got) != len(want) {
		t.Fatalf("got %d entries, want %d", len(got), len(want))
	}
	for i := range want {
		if string(got[i]) != want[i] {
			t.Fatalf("entry %d = %q, want %q", i, got[i], want[i])
		}
	}
}

func testListRecords(t *testing.T, q queue.Queue) {
	ctx := ctxFor(t)
	for _, k := range []string{"triage/b", "notes/a", "triage/a", "triageX", "triage%_*?[x]"} {
		_, err := q.PutRecord(ctx, k, []byte("v"), 0)
		must(t, err)
	}
	cases := []struct {
		prefix string
		want   []string
	}{
		{"triage/", []string{"triage/a", "triage/b"}},
		{"triage%_*?[", []string{"triage%_*?[x]"}},
		{"notes", []string{"notes/a"}},
		{"none/", nil},
		{"", []string{"notes/a", "triage%_*?[x]", "triage/a", "triage/b", "triageX"}},
	}
	for _, c := range cases {
		got, err := q.ListRecords(ctx, c.prefix)
		must(t, err)
		slices.Sort(got)
		if fmt.Sprint(got) != fmt.Sprint(c.want) {
			t.Errorf("ListRecords(%q) = %q, want %q", c.prefix, got, c.want)
		}
	}
}

func testRemember(t *testing.T, q queue.Queue) {
	ctx := ctxFor(t)
	const short = 200 * time.Millisecond
	steps := []struct {
		key  string
		ttl  time.Duration
		want bool
	}{
		{"hmac-1", time.Hour, true},
		{"hmac-1", time.Hour, false},
		{"hmac-2", time.Hour, true},
		{"hmac-1", time.Hour, false},
		{"hmac-3", short, true},
	}
	for i, s := range steps {
		first, err := q.Remember(ctx, s.key, s.ttl)
		must(t, err)
		if first != s.want {
			t.Fatalf("step %d: Remember(%s) = %v, want %v", i, s.key, first, s.want)
		}
	}
	// A short ttl is rounded up to a multiple of itself (see
	// queue.RememberExpiry): the key lives at most twice as long.
	time.Sleep(2*short + 200*time.Millisecond)
	for key, want := range map[string]bool{"hmac-3": true, "hmac-1": false} {
		first, err := q.Remember(ctx, key, short)
		must(t, err)
		if first != want {
			t.Fatalf("Remember(%s) after the short ttl passed = %v, want %v", key, first, want)
		}
	}
}

func testConcurrentEnqueue(t *testing.T, q queue.Queue) {
	ctx := ctxFor(t)
	const writers, each = 32, 20
	var wg sync.WaitGroup
	var mu sync.Mutex
	bodies := map[string]string{}
	errs := make(chan error, writers)
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				b := fmt.Sprintf("writer %d message %d", w, i)
				id, err := q.Enqueue(ctx, queue.StreamTips, []byte(b))
				if err != nil {
					errs <- err
					return
				}
				mu.Lock()
				if prev, dup := bodies[id]; dup {
					errs <- fmt.Errorf("id %s given to %q and %q", id, prev, b)
				}
				bodies[id] = b
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	all, err := q.List(ctx, queue.StreamTips, "", writers*each+10)
	must(t, err)
	if len(all) != writers*each {
		t.Fatalf("listed %d messages, want %d", len(all), writers*each)
	}
	for i, m := range all {
		if string(m.Body) != bodies[m.ID] {
			t.Fatalf("message %s = %q, want %q", m.ID, m.Body, bodies[m.ID])
		}
		if i > 0 && queue.CompareIDs(all[i-1].ID, m.ID) >= 0 {
			t.Fatalf("List out of order: %s then %s", all[i-1].ID, m.ID)
		}
	}
}

func testCloseWakesRead(t *testing.T, q queue.Queue) {
	done := make(chan error, 1)
	go func() {
		_, err := q.Read(ctxFor(t), queue.StreamTips, queue.ReadOptions{Group: "g", Consumer: "c", Block: 20 * time.Second})
		done <- err
	}()
	time.Sleep(100 * time.Millisecond)
	must(t, q.Close())
	select {
	case err := <-done:
		if !errors.Is(err, queue.ErrClosed) {
			t.Fatalf("Read blocked during Close: err = %v, want ErrClosed", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Read blocked during Close did not return")
	}
}

func testClose(t *testing.T, q queue.Queue) {
	ctx := ctxFor(t)
	id, err := q.Enqueue(ctx, queue.StreamTips, []byte("before close"))
	must(t, err)
	must(t, q.Close())
	calls := map[string]func() error{
		"Enqueue": func() error { _, err := q.Enqueue(ctx, queue.StreamTips, []byte("x")); return err },
		"Read": func() error {
			_, err := q.Read(ctx, queue.StreamTips, queue.ReadOptions{Group: "g", Consumer: "c"})
			return err
		},
		"Ack":        func() error { return q.Ack(ctx, queue.StreamTips, "g", id) },
		"Get":        func() error { _, err := q.Get(ctx, queue.StreamTips, id); return err },
		"List":       func() error { _, err := q.List(ctx, queue.StreamTips, "", 10); return err },
		"PutChunk":   func() error { return q.PutChunk(ctx, "b", 0, []byte("x")) },
		"GetChunk":   func() error { _, err := q.GetChunk(ctx, "b", 0); return err },
		"DeleteBlob": func() error { return q.DeleteBlob(ctx, "b") },
		"GetRecord":  func() error { _, _, err := q.GetRecord(ctx, "k"); return err },
		"PutRecord":  func() error { _, err := q.PutRecord(ctx, "k", []byte("x"), 0); return err },
		"AppendLog":  func() error { return q.AppendLog(ctx, "k", []byte("x")) },
		"LogEntries": func() error { _, err := q.LogEntries(ctx, "k"); return err },
		"ListRecords": func() error {
			_, err := q.ListRecords(ctx, "")
			return err
		},
		"Remember":    func() error { _, err := q.Remember(ctx, "k", time.Second); return err },
		"CommitBlobs": func() error { return q.CommitBlobs(ctx, "b") },
		"SweepBlobs": func() error {
			_, err := q.SweepBlobs(ctx, time.Now())
			return err
		},
	}
	for name, call := range calls {
		if err := call(); !errors.Is(err, queue.ErrClosed) {
			t.Errorf("%s after Close: err = %v, want ErrClosed", name, err)
		}
	}
	if err := q.Close(); err != nil && !errors.Is(err, queue.ErrClosed) {
		t.Errorf("second Close: %v", err)
	}
}
