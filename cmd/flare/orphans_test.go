package main

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"io"
	"log/slog"
	"mime/multipart"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"filippo.io/age"

	"github.com/flarehq/flare/crypto"
	"github.com/flarehq/flare/queue"
	"github.com/flarehq/flare/queue/embedded"
)

// TestKilledMidUploadLeavesChunksASweepRemoves: a gateway killed with
// SIGKILL while a source's large upload is half stored leaves that
// upload's chunks in the store, and before the orphan sweep nothing ever
// removed them. A sweep once they are older than the orphan age removes
// them, and never the attachment of a tip the gateway acknowledged.
func TestKilledMidUploadLeavesChunksASweepRemoves(t *testing.T) {
	dir := t.TempDir()
	store := filepath.Join(dir, "flare.db")
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	g := startGateway(t, nil, "--data-dir", dir, "--recipient", id.Recipient().String())

	photo := bytes.Repeat([]byte("acknowledged photo "), 200_000) // about 3.8 MB: 4 chunks
	status, page := postTip(t, "http://"+g.addr+"/", map[string]string{"message": "photos of building C"}, map[string][]byte{"c.jpg": photo})
	if status != 200 {
		t.Fatalf("form: status %d\n%s", status, page)
	}
	receiptOf(t, page)

	// A second upload stalls after about 3 MiB, and the gateway is killed.
	pr, pw := io.Pipe()
	mw := multipart.NewWriter(pw)
	go func() {
		mw.WriteField("message", "the upload that never finished")
		w, _ := mw.CreateFormFile("file", "big.mp4")
		piece := bytes.Repeat([]byte{0x5a}, 64<<10)
		for range 48 {
			if _, err := w.Write(piece); err != nil {
				return
			}
		}
	}()
	go func() {
		resp, err := http.Post("http://"+g.addr+"/submit", mw.FormDataContentType(), pr)
		if err == nil {
			resp.Body.Close()
		}
	}()
	db, err := sql.Open("sqlite", "file:"+store+"?mode=ro&_pragma=busy_timeout(5000)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	blobs := func() (n int) {
		db.QueryRow(`SELECT count(DISTINCT blob) FROM chunks`).Scan(&n)
		return n
	}
	chunks := func() (n int) {
		db.QueryRow(`SELECT count(*) FROM chunks`).Scan(&n)
		return n
	}
	deadline := time.Now().Add(30 * time.Second)
	for blobs() < 2 || chunks() < 6 {
		if time.Now().After(deadline) {
			t.Fatalf("the stalled upload stored no chunks (%d blobs, %d chunks)\n%s", blobs(), chunks(), g.logs.Bytes())
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := g.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-g.done
	pw.CloseWithError(errors.New("gateway killed"))
	left := chunks()
	if blobs() != 2 {
		t.Fatalf("after the kill the store holds %d blobs, want 2", blobs())
	}

	// A gateway that starts again sweeps at once, but the orphan is
	// younger than the orphan age: it stays.
	g = startGateway(t, nil, "--data-dir", dir, "--recipient", id.Recipient().String())
	g.stop()
	if chunks() != left {
		t.Fatalf("a gateway start removed chunks of a young upload: %d left of %d", chunks(), left)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, err := embedded.Open(ctx, store, embedded.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	// What the gateway's sweep does with the default orphan age, now and
	// a day and two hours later.
	age := 24 * time.Hour
	n, err := s.SweepBlobs(ctx, time.Now().Add(-age))
	if err != nil || n != 0 {
		t.Fatalf("sweep now: removed %d (%v), want 0", n, err)
	}
	n, err = s.SweepBlobs(ctx, time.Now().Add(26*time.Hour).Add(-age))
	if err != nil || n != 1 {
		t.Fatalf("sweep a day on: removed %d (%v), want 1 (the killed upload)", n, err)
	}
	if blobs() != 1 {
		t.Fatalf("after the sweep the store holds %d blobs, want 1", blobs())
	}

	// The acknowledged tip's attachment is whole.
	msgs, err := s.List(ctx, queue.StreamTips, "", 10)
	if err != nil || len(msgs) != 1 {
		t.Fatalf("queued tips: %d (%v), want 1", len(msgs), err)
	}
	// Nothing the real gateway stored dates the tip finer than the hour.
	if ms, _, _ := strings.Cut(msgs[0].ID, "-"); hourOf(t, ms)%time.Hour.Milliseconds() != 0 {
		t.Errorf("queue id %s carries a time finer than the hour", msgs[0].ID)
	}
	rows, err := db.Query(`SELECT created FROM blobs UNION ALL SELECT expires FROM remember`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var ms int64
		if err := rows.Scan(&ms); err != nil {
			t.Fatal(err)
		}
		if ms%time.Hour.Milliseconds() != 0 {
			t.Errorf("the store holds the time %d, not a whole hour", ms)
		}
	}
	rows.Close()
	tip, err := crypto.OpenTip(msgs[0].Body, id)
	if err != nil {
		t.Fatal(err)
	}
	r, err := crypto.OpenAttachment(ctx, s, tip.Attachments[0], id)
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(r)
	if err != nil || !bytes.Equal(got, photo) {
		t.Fatalf("the acknowledged tip's attachment after the sweep: %d bytes, %v", len(got), err)
	}
}

func hourOf(t *testing.T, ms string) int64 {
	t.Helper()
	n, err := strconv.ParseInt(ms, 10, 64)
	if err != nil {
		t.Fatalf("id ms part %q: %v", ms, err)
	}
	return n
}

// TestOrphanAgeOutlivesTelegramDrafts: a Telegram draft's attachments
// wait in the store until the draft is sent, so a sweep age shorter than
// a draft's longest life is refused at start.
func TestOrphanAgeOutlivesTelegramDrafts(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cfg := defaultGatewayConfig()
	cfg.Core.DataDir = t.TempDir()
	cfg.Core.Recipients = []string{recipientString(t)}
	cfg.Core.OrphanAge = 2 * time.Hour
	cfg.Telegram.Token = "123:abc"
	cfg.Telegram.DraftMaxAge = 3 * time.Hour
	g, err := openGateway(ctx, cfg, slog.New(slog.DiscardHandler))
	if err == nil {
		g.Close()
		t.Fatal("gateway opened with an orphan age shorter than a Telegram draft's life")
	}
	if !strings.Contains(err.Error(), "orphan chunk age") {
		t.Fatalf("err = %v, want it to name the orphan chunk age", err)
	}
}
