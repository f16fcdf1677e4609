package gateway

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"sync"
	"syscall"
	"time"

	"github.com/flarehq/flare/channels"
	"github.com/flarehq/flare/crypto"
)

// Capacity reports how many more bytes a store can take: free disk space,
// or a Redis server's memory left under maxmemory. The intake checks it so
// that a store near full refuses attachments first and text last, instead
// of refusing everything, on every channel, once it is full.
type Capacity interface {
	Headroom(ctx context.Context) (int64, error)
}

// CapacityFunc adapts a function to Capacity; the Redis queue's
// MemoryHeadroom is one.
type CapacityFunc func(ctx context.Context) (int64, error)

// Headroom implements Capacity.
func (f CapacityFunc) Headroom(ctx context.Context) (int64, error) { return f(ctx) }

// DiskCapacity is the space left to unprivileged writers on the file system
// that holds dir.
func DiskCapacity(dir string) Capacity {
	return CapacityFunc(func(context.Context) (int64, error) {
		var st syscall.Statfs_t
		if err := syscall.Statfs(dir, &st); err != nil {
			return 0, fmt.Errorf("free space of %s: %w", dir, err)
		}
		free := uint64(st.Bavail) * uint64(st.Bsize)
		if free > math.MaxInt64 {
			return math.MaxInt64, nil
		}
		return int64(free), nil
	})
}

// Floor is a Capacity and the headroom below which the intake takes no
// more attachments. Below a quarter of it, it takes no text either: a short
// message still fits where a file no longer does.
type Floor struct {
	Name     string // what is measured, for the log: "disk", "redis memory"
	Capacity Capacity
	Bytes    int64
}

// textShare is the part of a floor below which text is refused too.
const textShare = 4

// floorCheckEvery bounds how often a floor's Capacity is asked: a Redis
// INFO per chunk would cost a round trip per megabyte.
const floorCheckEvery = time.Second

// floors checks the intake's floors, remembering each reading briefly.
type floors struct {
	list []Floor
	now  func() time.Time
	log  *slog.Logger

	mu   sync.Mutex
	read []reading
}

type reading struct {
	at       time.Time
	headroom int64
	ok       bool
}

// below reports the first floor whose headroom is under its limit for a
// write of this kind: an attachment, or (attachment false) a tip's text.
func (f *floors) below(ctx context.Context, attachment bool) (Floor, bool) {
	if f == nil {
		return Floor{}, false
	}
	for i, fl := range f.list {
		if fl.Bytes <= 0 || fl.Capacity == nil {
			continue
		}
		h, ok := f.headroom(ctx, i)
		if !ok {
			// Unknown is not full: a store that cannot say fails
			// on its own when it is.
			continue
		}
		limit := fl.Bytes
		if !attachment {
			limit = fl.Bytes / textShare
		}
		if h < limit {
			return fl, true
		}
	}
	return Floor{}, false
}

func (f *floors) headroom(ctx context.Context, i int) (int64, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.read == nil {
		f.read = make([]reading, len(f.list))
	}
	now := f.now()
	if r := f.read[i]; !r.at.IsZero() && now.Sub(r.at) < floorCheckEvery && now.Sub(r.at) >= 0 {
		return r.headroom, r.ok
	}
	cctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	h, err := f.list[i].Capacity.Headroom(cctx)
	if err != nil {
		f.log.Warn("cannot read store headroom", "floor", f.list[i].Name, "err", err)
	}
	f.read[i] = reading{at: now, headroom: h, ok: err == nil}
	return h, err == nil
}

// roomyStore passes chunks to the store while the floors allow
// attachments, so that an upload under way stops when the store nears
// full, not only uploads that start after.
type roomyStore struct {
	crypto.ChunkStore
	floors *floors
}

func (s roomyStore) PutChunk(ctx context.Context, blobID string, index int, data []byte) error {
	if fl, below := s.floors.below(ctx, true); below {
		return fmt.Errorf("%s below its floor: %w", fl.Name, channels.ErrNoRoom)
	}
	return s.ChunkStore.PutChunk(ctx, blobID, index, data)
}
