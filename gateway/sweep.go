package gateway

import (
	"context"
	"log/slog"
	"time"

	"github.com/flarehq/flare/queue"
)

// DefaultOrphanAge is how old an attachment blob that no tip committed
// must be before SweepOrphans deletes it: far longer than any upload may
// take (a submission times out after 30 minutes).
const DefaultOrphanAge = 24 * time.Hour

// SweepEvery is how often SweepOrphans looks for orphaned blobs.
const SweepEvery = time.Hour

// SweepOrphans deletes, at start and then every interval until ctx ends,
// the attachment chunks of uploads that never became part of a queued tip
// (the gateway that received them crashed or was killed mid-upload) once
// they are older than age. Every gateway of a deployment may run it: a
// sweep removes only blobs no tip committed. now is the clock; nil means
// time.Now.
func SweepOrphans(ctx context.Context, q queue.ChunkStore, age, interval time.Duration, now func() time.Time, log *slog.Logger) {
	if now == nil {
		now = time.Now
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		n, err := q.SweepBlobs(ctx, now().Add(-age))
		switch {
		case err != nil && ctx.Err() == nil:
			log.Warn("sweep of orphaned attachment chunks failed; will try again", "err", err)
		case n > 0:
			log.Info("removed the chunks of unfinished uploads", "blobs", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
