package gateway

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/flarehq/flare/channels"
	"github.com/flarehq/flare/crypto"
	"github.com/flarehq/flare/internal/memq"
	"github.com/flarehq/flare/internal/testkit"
	"github.com/flarehq/flare/queue"
)

// TestSubmitCommitsAttachments: the attachments of a submitted tip are
// committed, so no sweep ever removes them; those of a draft abandoned
// mid-way (its gateway died before Submit or Discard) are swept once old.
func TestSubmitCommitsAttachments(t *testing.T) {
	in, q, id := newIntake(t, channels.DefaultLimits)
	ctx := context.Background()

	kept := in.NewDraft("web")
	kept.Tip().Text = "photos attached"
	ref, err := kept.Attach(ctx, "a.jpg", "image/jpeg", strings.NewReader("the kept photo"))
	if err != nil {
		t.Fatal(err)
	}
	r, err := kept.Submit(ctx)
	if err != nil {
		t.Fatal(err)
	}

	abandoned := in.NewDraft("web")
	lost, err := abandoned.Attach(ctx, "b.jpg", "image/jpeg", strings.NewReader("never submitted"))
	if err != nil {
		t.Fatal(err)
	}

	if n, err := q.SweepBlobs(ctx, time.Now()); err != nil || n != 0 {
		t.Fatalf("a sweep right away removed %d blobs (%v), want 0", n, err)
	}
	n, err := q.SweepBlobs(ctx, time.Now().Add(1000*time.Hour))
	if err != nil || n != 1 {
		t.Fatalf("a sweep long after removed %d blobs (%v), want 1 (the abandoned upload)", n, err)
	}
	if _, err := q.GetChunk(ctx, lost.ID, 0); !errors.Is(err, queue.ErrNotFound) {
		t.Fatalf("the abandoned upload's chunk: err = %v, want ErrNotFound", err)
	}
	m, err := q.Get(ctx, queue.StreamTips, r.QueueID)
	if err != nil {
		t.Fatal(err)
	}
	tip, err := crypto.OpenTip(m.Body, id)
	if err != nil {
		t.Fatal(err)
	}
	rd, err := crypto.OpenAttachment(ctx, q, tip.Attachments[0], id)
	if err != nil {
		t.Fatal(err)
	}
	var got bytes.Buffer
	if _, err := got.ReadFrom(rd); err != nil || got.String() != "the kept photo" || tip.Attachments[0].ID != ref.ID {
		t.Fatalf("the queued tip's attachment after the sweep: %q, %v", got.String(), err)
	}
}

// TestSubmitRefusesSweptAttachment: a tip whose attachment was swept (an
// upload older than the orphan age) is refused, not queued broken.
func TestSubmitRefusesSweptAttachment(t *testing.T) {
	in, q, _ := newIntake(t, channels.DefaultLimits)
	ctx := context.Background()
	d := in.NewDraft("web")
	d.Tip().Text = "slow"
	if _, err := d.Attach(ctx, "a.jpg", "image/jpeg", strings.NewReader("x")); err != nil {
		t.Fatal(err)
	}
	if _, err := q.SweepBlobs(ctx, time.Now().Add(1000*time.Hour)); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Submit(ctx); !errors.Is(err, channels.ErrUnavailable) {
		t.Fatalf("Submit with a swept attachment: err = %v, want ErrUnavailable", err)
	}
	if msgs, err := q.List(ctx, queue.StreamTips, "", 10); err != nil || len(msgs) != 0 {
		t.Fatalf("queued %d tips (%v), want none", len(msgs), err)
	}
}

func TestSweepOrphans(t *testing.T) {
	q := memq.New()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	for _, blob := range []string{"orphan", "committed"} {
		if err := q.PutChunk(ctx, blob, 0, []byte(blob)); err != nil {
			t.Fatal(err)
		}
	}
	if err := q.CommitBlobs(ctx, "committed"); err != nil {
		t.Fatal(err)
	}
	var logs testkit.Buffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	var clock atomic.Int64 // unix nanoseconds
	clock.Store(time.Now().UnixNano())
	now := func() time.Time { return time.Unix(0, clock.Load()) }
	done := make(chan struct{})
	go func() {
		SweepOrphans(ctx, q, 24*time.Hour, 10*time.Millisecond, now, log)
		close(done)
	}()
	time.Sleep(100 * time.Millisecond)
	if _, err := q.GetChunk(ctx, "orphan", 0); err != nil {
		t.Fatalf("a young orphan was swept: %v", err)
	}
	clock.Store(time.Now().Add(26 * time.Hour).UnixNano())
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, err := q.GetChunk(ctx, "orphan", 0); errors.Is(err, queue.ErrNotFound) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the orphan was not swept once older than the orphan age")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if _, err := q.GetChunk(ctx, "committed", 0); err != nil {
		t.Fatalf("a committed blob was swept: %v", err)
	}
	cancel()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("SweepOrphans did not stop when its context ended")
	}
	if !strings.Contains(string(logs.Bytes()), "blobs=1") {
		t.Fatalf("log does not say how many blobs were removed: %q", logs.Bytes())
	}
}
