package crypto

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"

	"filippo.io/age"
)

// ChunkSize is the size of the ciphertext chunks an attachment's age stream
// is cut into. It bounds the memory a sealed upload needs, and is large
// enough that a 200 MiB file is a few hundred writes to the store.
const ChunkSize = 1 << 20

// ChunkStore keeps the chunks of sealed attachments. Queue backends
// implement it; a chunk must be durable when PutChunk returns.
type ChunkStore interface {
	PutChunk(ctx context.Context, blobID string, index int, data []byte) error
	GetChunk(ctx context.Context, blobID string, index int) ([]byte, error)
}

// ErrTooLarge is returned (wrapped) when an attachment exceeds the size
// limit it was sealed with. Nothing is left to keep: the caller deletes
// the chunks already written.
var ErrTooLarge = errors.New("attachment too large")

// AttachmentInfo describes an attachment before it is sealed.
type AttachmentInfo struct {
	ID        string // blob id under which the chunks are stored
	Name      string // file name as the source gave it; sealed only
	MediaType string
	MaxSize   int64 // refuse plaintexts larger than this; 0 means no limit
}

// SealAttachment reads src to its end and stores it, sealed to the
// Sealer's recipients as one age stream, in chunks of ChunkSize under
// info.ID. The plaintext is padded with zero bytes to PaddedSize, so the
// stored size hides the exact file size; the returned AttachmentRef holds
// the true size and SHA-256 and goes into the (sealed) tip.
//
// At most one chunk is held in memory. On error, chunks already stored are
// the caller's to delete.
func (s *Sealer) SealAttachment(ctx context.Context, store ChunkStore, info AttachmentInfo, src io.Reader) (AttachmentRef, error) {
	cw := &chunkWriter{ctx: ctx, store: store, blobID: info.ID}
	aw, err := age.Encrypt(cw, s.recipients...)
	if err != nil {
		return AttachmentRef{}, fmt.Errorf("seal attachment: %w", err)
	}
	h := sha256.New()
	limit := info.MaxSize
	if limit <= 0 {
		limit = 1<<63 - 1
	}
	n, err := copyLimited(io.MultiWriter(aw, h), src, limit)
	if err != nil {
		return AttachmentRef{}, fmt.Errorf("seal attachment: %w", err)
	}
	if err := writeZeros(aw, PaddedSize(n)-n); err != nil {
		return AttachmentRef{}, fmt.Errorf("seal attachment: pad: %w", err)
	}
	if err := aw.Close(); err != nil {
		return AttachmentRef{}, fmt.Errorf("seal attachment: %w", err)
	}
	if err := cw.flush(); err != nil {
		return AttachmentRef{}, fmt.Errorf("seal attachment: %w", err)
	}
	return AttachmentRef{
		ID:         info.ID,
		Name:       info.Name,
		MediaType:  info.MediaType,
		Size:       n,
		SHA256:     hex.EncodeToString(h.Sum(nil)),
		Chunks:     cw.chunks,
		SealedSize: cw.total,
	}, nil
}

// copyLimited copies src to dst and fails with ErrTooLarge as soon as more
// than limit bytes have been read, before writing the excess.
func copyLimited(dst io.Writer, src io.Reader, limit int64) (int64, error) {
	n, err := io.Copy(dst, io.LimitReader(src, limit))
	if err != nil {
		return n, err
	}
	if n == limit {
		var one [1]byte
		m, err := io.ReadFull(src, one[:])
		if m > 0 {
			return n, fmt.Errorf("%w: more than %d bytes", ErrTooLarge, limit)
		}
		if err != nil && err != io.EOF && err != io.ErrUnexpectedEOF {
			return n, err
		}
	}
	return n, nil
}

func writeZeros(w io.Writer, n int64) error {
	zeros := make([]byte, 32<<10)
	for n > 0 {
		k := min(n, int64(len(zeros)))
		if _, err := w.Write(zeros[:k]); err != nil {
			return err
		}
		n -= k
	}
	return nil
}

// chunkWriter cuts a byte stream into ChunkSize pieces and stores each as
// soon as it is full. Its buffer grows with what arrives, up to ChunkSize,
// so that an upload that stalls early holds kilobytes, not a megabyte.
type chunkWriter struct {
	ctx    context.Context
	store  ChunkStore
	blobID string
	buf    []byte
	chunks int
	total  int64
}

func (c *chunkWriter) Write(p []byte) (int, error) {
	written := 0
	for len(p) > 0 {
		k := min(len(p), ChunkSize-len(c.buf))
		if len(c.buf)+k > cap(c.buf) {
			// Grow by doubling, but never past ChunkSize.
			grown := make([]byte, len(c.buf), min(max(2*cap(c.buf), len(c.buf)+k, 4<<10), ChunkSize))
			copy(grown, c.buf)
			c.buf = grown
		}
		c.buf = append(c.buf, p[:k]...)
		p = p[k:]
		written += k
		if len(c.buf) == ChunkSize {
			if err := c.flush(); err != nil {
				return written, err
			}
		}
	}
	return written, nil
}

func (c *chunkWriter) flush() error {
	if len(c.buf) == 0 {
		return nil
	}
	if err := c.ctx.Err(); err != nil {
		return err
	}
	if err := c.store.PutChunk(c.ctx, c.blobID, c.chunks, c.buf); err != nil {
		return fmt.Errorf("store chunk %d: %w", c.chunks, err)
	}
	c.total += int64(len(c.buf))
	c.chunks++
	c.buf = c.buf[:0]
	return nil
}

// checkAttachmentRefs refuses attachment references that no gateway
// writes: a negative size, chunk count or sealed size. A tip forged by
// someone who can write to the queue must not carry such numbers on to
// code that sizes buffers by them.
func checkAttachmentRefs(refs []AttachmentRef) error {
	for i, ref := range refs {
		switch {
		case ref.Size < 0:
			return fmt.Errorf("%w: attachment %d has a negative size (%d)", ErrInvalidTip, i+1, ref.Size)
		case ref.Chunks < 0:
			return fmt.Errorf("%w: attachment %d has a negative chunk count (%d)", ErrInvalidTip, i+1, ref.Chunks)
		case ref.SealedSize < 0:
			return fmt.Errorf("%w: attachment %d has a negative sealed size (%d)", ErrInvalidTip, i+1, ref.SealedSize)
		}
	}
	return nil
}

// SealedAttachmentReader returns the sealed age stream of an attachment,
// fetching its chunks from store one at a time. This is what an export as a
// .age file writes out.
func SealedAttachmentReader(ctx context.Context, store ChunkStore, ref AttachmentRef) io.Reader {
	return &chunkReader{ctx: ctx, store: store, ref: ref}
}

type chunkReader struct {
	ctx   context.Context
	store ChunkStore
	ref   AttachmentRef
	next  int
	cur   *bytes.Reader
}

func (c *chunkReader) Read(p []byte) (int, error) {
	for c.cur == nil || c.cur.Len() == 0 {
		if c.next >= c.ref.Chunks {
			return 0, io.EOF
		}
		data, err := c.store.GetChunk(c.ctx, c.ref.ID, c.next)
		if err != nil {
			return 0, fmt.Errorf("attachment %s chunk %d: %w", c.ref.ID, c.next, err)
		}
		c.next++
		c.cur = bytes.NewReader(data)
	}
	return c.cur.Read(p)
}

// ErrAttachmentCorrupt is returned when an opened attachment does not match
// the size and SHA-256 its tip recorded.
var ErrAttachmentCorrupt = errors.New("attachment does not match its reference")

// OpenAttachment returns the plaintext of an attachment, decrypting its
// chunks as they are read. The padding is cut off, and at the end the
// SHA-256 is checked against ref: a mismatch is returned as an error
// wrapping ErrAttachmentCorrupt instead of io.EOF.
func OpenAttachment(ctx context.Context, store ChunkStore, ref AttachmentRef, identities ...age.Identity) (io.Reader, error) {
	r, err := age.Decrypt(SealedAttachmentReader(ctx, store, ref), identities...)
	if err != nil {
		return nil, fmt.Errorf("open attachment: %w", err)
	}
	return &verifyingReader{r: io.LimitReader(r, ref.Size), h: sha256.New(), ref: ref}, nil
}

type verifyingReader struct {
	r   io.Reader
	h   hash.Hash
	n   int64
	ref AttachmentRef
}

func (v *verifyingReader) Read(p []byte) (int, error) {
	n, err := v.r.Read(p)
	v.h.Write(p[:n])
	v.n += int64(n)
	if err == io.EOF {
		if v.n != v.ref.Size || hex.EncodeToString(v.h.Sum(nil)) != v.ref.SHA256 {
			return n, fmt.Errorf("%w: %s", ErrAttachmentCorrupt, v.ref.ID)
		}
	}
	return n, err
}
