// Package queue carries sealed tips from Flare's gateways to its consoles.
//
// A Queue is a set of named streams of opaque, already-sealed messages with
// consumer-group semantics, as in Redis Streams: Enqueue returns only once a
// message is durable; a consumer in a group reads messages and acknowledges
// them; a message read but never acknowledged is handed again, to any
// consumer of the group, once it has been idle longer than the visibility
// timeout. Two backends implement it, chosen by URL (see package
// queue/backend): redis/ on Redis Streams, and embedded/, a SQLite file
// that a gateway and a console in another process can share.
//
// Beside the streams, a Queue keeps three small things every gateway
// instance and console must share: the chunks of sealed attachments
// (ChunkStore), versioned records for triage state (Records), and
// short-lived markers that make webhook retries idempotent (Remember).
//
// The queue stores what it is given and never looks inside: callers hand it
// ciphertext and keyed hashes only. queuetest holds the conformance suite
// every backend must pass.
package queue

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"time"
)

// Well-known stream names.
const (
	// StreamTips holds sealed tips, oldest first.
	StreamTips = "tips"
	// StreamOutbox holds sealed replies on their way to sources.
	StreamOutbox = "outbox"
)

// Message is one entry of a stream.
type Message struct {
	// ID is assigned by the backend on Enqueue and orders the stream:
	// IDs compare with CompareIDs.
	ID string
	// Body is what was enqueued: a sealed tip or reply.
	Body []byte
	// Enqueued is the hour in which the backend stored the message,
	// read from its id (see TimePrecision): ids carry no finer time, so
	// that nothing outside the seal dates a tip to the minute. The
	// sealed tip holds the minute it was received.
	Enqueued time.Time
	// Deliveries counts how many times the message was handed to a
	// consumer of the group it was read in (0 outside Read).
	Deliveries int
}

// ReadOptions says how a consumer reads.
type ReadOptions struct {
	Group    string
	Consumer string
	// Count is the most messages to return; 0 means 1.
	Count int
	// Block is how long to wait when nothing is ready; 0 means don't wait.
	Block time.Duration
	// Visibility is how long a delivered, unacknowledged message stays with
	// its consumer before Read hands it to another; 0 means
	// DefaultVisibility.
	Visibility time.Duration
}

// DefaultVisibility is the visibility timeout when ReadOptions has none.
const DefaultVisibility = 5 * time.Minute

// Queue is what gateways and consoles need from a queue backend.
type Queue interface {
	// Enqueue appends body to stream and returns once it is durable. The
	// id is "<ms>-<seq>" where ms is the start of the current hour (or the
	// ms part of the stream's last id, if that is later) and seq counts
	// the messages of that hour.
	Enqueue(ctx context.Context, stream string, body []byte) (id string, err error)
	// Read returns up to opts.Count messages for opts.Consumer in
	// opts.Group: first messages whose visibility timeout expired with
	// another consumer, then new ones. The group is created at the start
	// of the stream if it does not exist.
	Read(ctx context.Context, stream string, opts ReadOptions) ([]Message, error)
	// Ack marks messages as handled by group. Acknowledging an unknown or
	// already acknowledged id is not an error.
	Ack(ctx context.Context, stream, group string, ids ...string) error
	// Get returns one message by id, or ErrNotFound.
	Get(ctx context.Context, stream, id string) (Message, error)
	// List returns up to count messages with ids greater than after (""
	// for the start), oldest first, without reading them as a consumer.
	List(ctx context.Context, stream, after string, count int) ([]Message, error)
	// Delete removes messages from stream for good, with every group's
	// bookkeeping of them: deleted means gone, not acknowledged. Unknown
	// ids are not an error.
	Delete(ctx context.Context, stream string, ids ...string) error

	ChunkStore
	Records
	// Remember records key until ttl has passed. It returns true the
	// first time it sees key, false while the key is remembered. Callers
	// pass keyed hashes, never identifiers themselves. The stored expiry
	// is RememberExpiry(now, ttl): rounded up to the hour for a ttl of an
	// hour or more, so a key may be remembered up to an hour longer.
	Remember(ctx context.Context, key string, ttl time.Duration) (first bool, err error)

	Close() error
}

// ChunkStore keeps the chunks of sealed attachments under a blob id. It
// matches crypto.ChunkStore, so a Queue can be handed to the sealer.
type ChunkStore interface {
	// PutChunk stores a chunk durably; storing the same index again
	// replaces it.
	PutChunk(ctx context.Context, blobID string, index int, data []byte) error
	// GetChunk returns a chunk, or ErrNotFound.
	GetChunk(ctx context.Context, blobID string, index int) ([]byte, error)
	// DeleteBlob removes every chunk of a blob; a missing blob is not an
	// error.
	DeleteBlob(ctx context.Context, blobID string) error

	// A blob's first PutChunk also records, outside the seal, the hour it
	// was created (HourMillis) and that it is not yet committed. A blob
	// whose upload never finished (the gateway crashed or was killed
	// mid-upload) stays uncommitted for ever, and SweepBlobs removes it.

	// CommitBlobs marks blobs as referenced by a tip, so that SweepBlobs
	// never removes them. The gateway calls it just before it enqueues
	// the tip. A blob that has no chunks (deleted, swept or never
	// stored) makes it return an error wrapping ErrNotFound; the others
	// are marked all the same.
	CommitBlobs(ctx context.Context, blobIDs ...string) error
	// SweepBlobs deletes every uncommitted blob known to have been
	// created before before (its whole creation hour lies before it; see
	// SweepCutoff) and returns how many it deleted. Blobs stored before
	// creation times were recorded count as committed.
	SweepBlobs(ctx context.Context, before time.Time) (removed int, err error)
}

// Records is a small versioned key-value store for sealed records, such as
// a tip's triage state, shared by every console. Versions make concurrent
// edits visible instead of silently overwriting one another.
type Records interface {
	// GetRecord returns the value and version of key, or ErrNotFound.
	GetRecord(ctx context.Context, key string) (value []byte, version int64, err error)
	// PutRecord stores value under key if the stored version is still
	// version (0 for "does not exist yet") and returns the new version.
	// Otherwise it changes nothing and returns ErrConflict.
	PutRecord(ctx context.Context, key string, value []byte, version int64) (int64, error)
	// AppendLog appends an entry to the log under key (a record's
	// history), and LogEntries returns them in order.
	AppendLog(ctx context.Context, key string, entry []byte) error
	LogEntries(ctx context.Context, key string) ([][]byte, error)
	// ListRecords returns the keys that start with prefix.
	ListRecords(ctx context.Context, prefix string) ([]string, error)
	// DeleteRecord removes the record under key and its log for good; a
	// missing record is not an error.
	DeleteRecord(ctx context.Context, key string) error
}

var (
	// ErrNotFound is returned for a message, chunk or record that does
	// not exist.
	ErrNotFound = errors.New("not found")
	// ErrConflict is returned by PutRecord when the record changed since
	// the version the caller read.
	ErrConflict = errors.New("record changed since it was read")
	// ErrInvalidID is returned for a message id that is not of the form
	// "<ms>-<seq>".
	ErrInvalidID = errors.New("invalid message id")
	// ErrClosed is returned after Close.
	ErrClosed = errors.New("queue closed")
)

// CompareIDs orders two message ids of the form "<ms>-<seq>", as both
// backends assign them: it returns -1, 0 or +1. Malformed ids sort first.
func CompareIDs(a, b string) int {
	am, as := splitID(a)
	bm, bs := splitID(b)
	switch {
	case am != bm:
		return cmpUint(am, bm)
	default:
		return cmpUint(as, bs)
	}
}

func splitID(id string) (ms, seq uint64) {
	i := strings.IndexByte(id, '-')
	if i < 0 {
		v, _ := strconv.ParseUint(id, 10, 64)
		return v, 0
	}
	ms, _ = strconv.ParseUint(id[:i], 10, 64)
	seq, _ = strconv.ParseUint(id[i+1:], 10, 64)
	return ms, seq
}

func cmpUint(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
