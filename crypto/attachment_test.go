package crypto

import (
	"bytes"
	"context"
	"io"
	"runtime"
	"strings"
	"testing"
)

// TestSmallAttachmentHoldsNoFullChunk checks that the chunk buffer grows
// with what arrives: sealing a few bytes (as a stalled upload has sent)
// must not allocate a ChunkSize buffer. Many stalled uploads each holding
// a megabyte was how a slow client could pin the gateway's memory.
func TestSmallAttachmentHoldsNoFullChunk(t *testing.T) {
	_, r := newX25519(t)
	s, err := NewSealer(r)
	if err != nil {
		t.Fatal(err)
	}
	store := &memChunks{}
	seal := func() {
		if _, err := s.SealAttachment(context.Background(), store, AttachmentInfo{ID: "a"}, strings.NewReader(strings.Repeat("x", 100))); err != nil {
			t.Fatal(err)
		}
	}
	seal() // warm up one-time allocations
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	seal()
	runtime.ReadMemStats(&after)
	if got := after.TotalAlloc - before.TotalAlloc; got >= ChunkSize/2 {
		t.Fatalf("sealing 100 bytes allocated %d bytes; the chunk buffer should grow with the data", got)
	}
}

// TestChunkWriterGrowsToChunkSize checks that the growing buffer still cuts
// the stream into chunks of exactly ChunkSize and never holds more.
func TestChunkWriterGrowsToChunkSize(t *testing.T) {
	store := &memChunks{}
	cw := &chunkWriter{ctx: context.Background(), store: store, blobID: "b"}
	data := bytes.Repeat([]byte("0123456789abcdef"), (2*ChunkSize+1000)/16)
	if _, err := io.Copy(cw, bytes.NewReader(data)); err != nil {
		t.Fatal(err)
	}
	if cap(cw.buf) > ChunkSize {
		t.Fatalf("buffer grew to %d, past ChunkSize", cap(cw.buf))
	}
	if err := cw.flush(); err != nil {
		t.Fatal(err)
	}
	var got []byte
	for i := 0; i < cw.chunks; i++ {
		c, err := store.GetChunk(context.Background(), "b", i)
		if err != nil {
			t.Fatal(err)
		}
		if i < cw.chunks-1 && len(c) != ChunkSize {
			t.Fatalf("chunk %d is %d bytes", i, len(c))
		}
		got = append(got, c...)
	}
	if !bytes.Equal(got, data) || cw.chunks != 3 {
		t.Fatalf("%d chunks, %d bytes back of %d", cw.chunks, len(got), len(data))
	}
}
