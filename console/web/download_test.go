package web

import (
	"bytes"
	"context"
	"io"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/flarehq/flare/crypto"
	"github.com/flarehq/flare/internal/memq"
)

// swapChunks seals other, of the same size, as the blob of attachment ref
// would be, and puts chunk n of it (or every chunk, n < 0) in the store in
// place of ref's: an attacker with write access to the queue swapping a
// file.
func swapChunks(t *testing.T, q *memq.Queue, sealer *crypto.Sealer, ref crypto.AttachmentRef, other []byte, n int) {
	t.Helper()
	ctx := context.Background()
	fake, err := sealer.SealAttachment(ctx, q, crypto.AttachmentInfo{ID: "att-fake"}, bytes.NewReader(other))
	if err != nil {
		t.Fatal(err)
	}
	for i := range fake.Chunks {
		if n >= 0 && i != n {
			continue
		}
		c, err := q.GetChunk(ctx, "att-fake", i)
		if err != nil {
			t.Fatal(err)
		}
		if err := q.PutChunk(ctx, ref.ID, i, c); err != nil {
			t.Fatal(err)
		}
	}
}

// TestSwappedAttachmentNotDownloaded is finding 5: with a chunk replaced
// in the store, the download sent every byte with status 200 before the
// checksum failed, and the page showed the recorded hash as if it held.
func TestSwappedAttachmentNotDownloaded(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	file := make([]byte, 2*crypto.ChunkSize+12345)
	for i := range file {
		file[i] = byte(rng.UintN(256))
	}
	other := bytes.Clone(file)
	other[len(other)-1] ^= 1
	for _, tt := range []struct {
		name     string
		chunk    int
		viewed   bool // the page was seen before the swap
		mismatch string
	}{
		{"one chunk replaced", 1, false, "does not match"},
		{"whole file swapped", -1, false, "does not match"},
		{"whole file swapped after the page was seen", -1, true, "does not match"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			q := memq.New()
			alice := newKeyholder(t, "alice")
			sealer, err := crypto.NewSealer(alice.id.Recipient())
			if err != nil {
				t.Fatal(err)
			}
			rc := submit(t, q, recipients(alice), submission{channel: "web", kind: crypto.KindEvidence, text: "files",
				attachments: []testFile{{name: "ledger.xlsx", mediaType: "application/octet-stream", data: file}}})
			r := startConsole(t, q, alice, recipients(alice))
			c := r.client(t)
			tipURL := r.base + "/tip/" + rc.QueueID
			if tt.viewed {
				_, page := get(t, c, tipURL)
				contains(t, page, "checked")
			}
			it, ok, err := r.srv.item(context.Background(), rc.QueueID)
			if err != nil || !ok {
				t.Fatal(err)
			}
			swapChunks(t, q, sealer, it.Tip.Attachments[0], other, tt.chunk)

			resp, err := c.Get(tipURL + "/att/0/file")
			if err != nil {
				t.Fatal(err)
			}
			body, rerr := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK && rerr == nil && len(body) == len(file) {
				t.Fatalf("swapped file downloaded whole with 200")
			}
			if resp.StatusCode == http.StatusOK {
				t.Fatalf("status 200 for a swapped file (%d bytes, %v)", len(body), rerr)
			}
			_, page := get(t, c, tipURL)
			contains(t, page, tt.mismatch)
			if strings.Contains(page, "(checked)") {
				t.Errorf("page shows the recorded hash as checked")
			}
		})
	}
}

// flipStore serves an attachment's chunks genuinely for the first reads,
// then from another file: the store changing between the console's check
// and its sending.
type flipStore struct {
	*memq.Queue
	blob    string
	reads   atomic.Int32
	after   int32
	swapped map[int][]byte
}

func (f *flipStore) GetChunk(ctx context.Context, blobID string, index int) ([]byte, error) {
	if blobID == f.blob && f.reads.Add(1) > f.after {
		if c, ok := f.swapped[index]; ok {
			return c, nil
		}
	}
	return f.Queue.GetChunk(ctx, blobID, index)
}

// TestAttachmentChangedWhileSendingAborts: when the file changes after the
// check, the connection is cut before the last byte, so the browser marks
// the download failed.
func TestAttachmentChangedWhileSendingAborts(t *testing.T) {
	mq := memq.New()
	alice := newKeyholder(t, "alice")
	sealer, err := crypto.NewSealer(alice.id.Recipient())
	if err != nil {
		t.Fatal(err)
	}
	file := bytes.Repeat([]byte("genuine "), crypto.ChunkSize/4)
	rc := submit(t, mq, recipients(alice), submission{channel: "web", kind: crypto.KindEvidence, text: "files",
		attachments: []testFile{{name: "a.bin", mediaType: "application/octet-stream", data: file}}})
	ctx := context.Background()
	m, err := mq.Get(ctx, "tips", rc.QueueID)
	if err != nil {
		t.Fatal(err)
	}
	tip, err := crypto.OpenTip(m.Body, alice.id)
	if err != nil {
		t.Fatal(err)
	}
	ref := tip.Attachments[0]
	other := bytes.Clone(file)
	other[0] ^= 1
	fake, err := sealer.SealAttachment(ctx, mq, crypto.AttachmentInfo{ID: "att-fake"}, bytes.NewReader(other))
	if err != nil {
		t.Fatal(err)
	}
	fs := &flipStore{Queue: mq, blob: ref.ID, swapped: map[int][]byte{}}
	for i := range fake.Chunks {
		fs.swapped[i], _ = mq.GetChunk(ctx, "att-fake", i)
	}
	r := startConsole(t, fs, alice, recipients(alice))
	c := r.client(t)
	get(t, c, r.base+"/tip/"+rc.QueueID)           // inspects (reads every chunk once)
	fs.after = fs.reads.Load() + int32(ref.Chunks) // the download's check passes; its sending reads the other file
	resp, err := c.Get(r.base + "/tip/" + rc.QueueID + "/att/0/file")
	if err != nil {
		t.Fatal(err)
	}
	body, rerr := io.ReadAll(resp.Body)
	resp.Body.Close()
	if rerr == nil || len(body) == len(file) {
		t.Fatalf("download completed: status %d, %d of %d bytes, read error %v", resp.StatusCode, len(body), len(file), rerr)
	}
}
