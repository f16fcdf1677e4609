package gateway

import (
	"context"
	"fmt"

	"github.com/flarehq/flare/ops/config"
	"github.com/flarehq/flare/queue"
)

// Default floors: below a gigabyte of free disk the gateway stops taking
// attachments (below 256 MiB, text too); below 64 MiB of Redis memory
// under maxmemory likewise (16 MiB for text).
const (
	DefaultDiskFloor        = 1 << 30
	DefaultRedisMemoryFloor = 64 << 20
)

// intakeSettings are the bounds on what the listeners take in and the
// stores' floors.
func (c *Config) intakeSettings() []config.Setting {
	return []config.Setting{
		{Key: "intake.max_uploads", Env: "FLARE_MAX_UPLOADS", Flag: "max-uploads", Help: "most uploads (requests larger than a text-only form) at once over all listeners; past it, 503 and \"try again later\" (0: no cap)", Value: config.Int(&c.Gate.MaxUploads)},
		{Key: "intake.max_uploads_per_listener", Env: "FLARE_MAX_UPLOADS_PER_LISTENER", Flag: "max-uploads-per-listener", Help: "most uploads at once on each listener (web, onion) (0: no cap)", Value: config.Int(&c.Gate.MaxUploadsPerListener)},
		{Key: "intake.upload_grace", Env: "FLARE_UPLOAD_GRACE", Flag: "upload-grace", Help: "how long a request may send nothing before it is cut off, and before the minimum rate applies (0: no read deadline)", Value: config.Duration(&c.Gate.UploadGrace)},
		{Key: "intake.min_upload_rate", Env: "FLARE_MIN_UPLOAD_RATE", Flag: "min-upload-rate", Help: "average rate per second a request body must keep up after the grace (e.g. 1KiB)", Value: config.Bytes(&c.Gate.MinUploadRate)},
		{Key: "intake.ingest_bytes_per_minute", Env: "FLARE_INGEST_BYTES_PER_MINUTE", Flag: "ingest-bytes-per-minute", Help: "ingest budget over all listeners, per minute (e.g. 2GiB); past it, 503 and \"try again later\" (0: none)", Value: config.Bytes(&c.Gate.BytesPerMinute)},
		{Key: "intake.listener_ingest_bytes_per_minute", Env: "FLARE_LISTENER_INGEST_BYTES_PER_MINUTE", Flag: "listener-ingest-bytes-per-minute", Help: "ingest budget of each listener, per minute (e.g. 1GiB) (0: none)", Value: config.Bytes(&c.Gate.BytesPerMinutePerListener)},
		{Key: "intake.disk_floor", Env: "FLARE_DISK_FLOOR", Flag: "disk-floor", Help: "free space in the data directory below which attachments are refused (below a quarter of it, text too) (0: none)", Value: config.Bytes(&c.DiskFloor)},
		{Key: "intake.redis_memory_floor", Env: "FLARE_REDIS_MEMORY_FLOOR", Flag: "redis-memory-floor", Help: "Redis memory left under maxmemory below which attachments are refused (below a quarter of it, text too) (0: none)", Value: config.Bytes(&c.RedisMemoryFloor)},
	}
}

// validateIntake checks the intake bounds.
func (c *Config) validateIntake() error {
	if err := c.Gate.Validate(); err != nil {
		return err
	}
	if c.DiskFloor < 0 || c.RedisMemoryFloor < 0 {
		return fmt.Errorf("floors must not be negative")
	}
	return nil
}

// memoryReporter is a queue that can say how much memory it has left (the
// Redis queue).
type memoryReporter interface {
	MemoryHeadroom(ctx context.Context) (int64, error)
}

// Floors returns the floors the intake checks with queue q: free disk in
// the data directory, and, when q reports it, Redis memory.
func (c *Config) Floors(q queue.Queue) []Floor {
	var out []Floor
	if c.DiskFloor > 0 {
		out = append(out, Floor{Name: "disk", Capacity: DiskCapacity(c.DataDir), Bytes: c.DiskFloor})
	}
	if m, ok := q.(memoryReporter); ok && c.RedisMemoryFloor > 0 {
		out = append(out, Floor{Name: "redis memory", Capacity: CapacityFunc(m.MemoryHeadroom), Bytes: c.RedisMemoryFloor})
	}
	return out
}
