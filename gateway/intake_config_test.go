package gateway

import (
	"io"
	"testing"
	"time"

	"github.com/flarehq/flare/ops/config"
)

func TestIntakeSettings(t *testing.T) {
	c := DefaultConfig()
	env := []string{
		"FLARE_MAX_UPLOADS=5",
		"FLARE_MAX_UPLOADS_PER_LISTENER=3",
		"FLARE_MIN_UPLOAD_RATE=2 KiB",
		"FLARE_UPLOAD_GRACE=45s",
		"FLARE_INGEST_BYTES_PER_MINUTE=3GiB",
		"FLARE_LISTENER_INGEST_BYTES_PER_MINUTE=500MiB",
		"FLARE_REDIS_MEMORY_FLOOR=32MiB",
	}
	if _, err := config.Load("gateway", c.Settings(), []string{"--disk-floor", "2GiB"}, env, io.Discard); err != nil {
		t.Fatal(err)
	}
	g := c.Gate
	if g.MaxUploads != 5 || g.MaxUploadsPerListener != 3 || g.MinUploadRate != 2048 || g.UploadGrace != 45*time.Second ||
		g.BytesPerMinute != 3<<30 || g.BytesPerMinutePerListener != 500<<20 || c.DiskFloor != 2<<30 || c.RedisMemoryFloor != 32<<20 {
		t.Fatalf("settings not applied: %+v, disk %d, redis %d", g, c.DiskFloor, c.RedisMemoryFloor)
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	c.Gate.MaxUploads = -1
	if err := c.Validate(); err == nil {
		t.Fatal("a negative upload cap passed")
	}
	d := DefaultConfig()
	if _, err := config.Load("gateway", d.Settings(), []string{"--min-upload-rate", "fast"}, nil, io.Discard); err == nil {
		t.Fatal("a rate that is not a size passed")
	}
}
