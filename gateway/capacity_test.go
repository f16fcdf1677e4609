package gateway

import (
	"bytes"
	"context"
	"errors"
	"io"
	"math"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"filippo.io/age"
	goredis "github.com/redis/go-redis/v9"

	"github.com/flarehq/flare/channels"
	"github.com/flarehq/flare/crypto"
	"github.com/flarehq/flare/internal/testredis"
	"github.com/flarehq/flare/queue"
	"github.com/flarehq/flare/queue/embedded"
	"github.com/flarehq/flare/queue/redis"
)

// testClock is a settable clock, so floor readings can be made stale.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *testClock) tick() {
	c.mu.Lock()
	c.t = c.t.Add(2 * floorCheckEvery)
	c.mu.Unlock()
}

func flooredIntake(t *testing.T, q queue.Queue, clk *testClock, floors ...Floor) *Intake {
	t.Helper()
	id, _ := age.GenerateX25519Identity()
	s, _ := crypto.NewSealer(id.Recipient())
	in, err := NewIntake(IntakeConfig{Sealer: s, Queue: q, Now: clk.now, Floors: floors})
	if err != nil {
		t.Fatal(err)
	}
	return in
}

// tryTip attaches a file (if file is non-empty) and submits a text tip;
// it returns the attach and submit errors and discards what failed.
func tryTip(in *Intake, file string) (attachErr, submitErr error) {
	ctx := context.Background()
	d := in.NewDraft("web")
	d.Tip().Text = "hello"
	if file != "" {
		if _, attachErr = d.Attach(ctx, "f.bin", "", strings.NewReader(file)); attachErr != nil {
			d.Discard(ctx)
			return attachErr, nil
		}
	}
	_, submitErr = d.Submit(ctx)
	if submitErr != nil {
		d.Discard(ctx)
	}
	return nil, submitErr
}

// TestFloorRefusesAttachmentsBeforeText is finding 9's floors: with the
// store's headroom under the floor, attachments are refused and text is
// still taken; under a quarter of the floor, text is refused too.
func TestFloorRefusesAttachmentsBeforeText(t *testing.T) {
	q, err := embedded.Open(context.Background(), filepath.Join(t.TempDir(), "q.db"), embedded.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { q.Close() })
	var headroom atomic.Int64
	clk := &testClock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	in := flooredIntake(t, q, clk, Floor{Name: "test", Bytes: 100 << 20, Capacity: CapacityFunc(func(context.Context) (int64, error) {
		return headroom.Load(), nil
	})})
	tests := []struct {
		name       string
		headroom   int64
		attachOK   bool
		submitWant error
	}{
		{"room", 200 << 20, true, nil},
		{"under the floor", 60 << 20, false, nil},
		{"under a quarter", 20 << 20, false, channels.ErrUnavailable},
		{"room again", 200 << 20, true, nil},
	}
	for _, tt := range tests {
		headroom.Store(tt.headroom)
		clk.tick()
		aerr, _ := tryTip(in, "file")
		if (aerr == nil) != tt.attachOK || (aerr != nil && !errors.Is(aerr, channels.ErrNoRoom)) {
			t.Fatalf("%s: attach: %v", tt.name, aerr)
		}
		if _, serr := tryTip(in, ""); !errors.Is(serr, tt.submitWant) || (tt.submitWant == nil && serr != nil) {
			t.Fatalf("%s: text tip: %v, want %v", tt.name, serr, tt.submitWant)
		}
	}
}

// shrinking reads size bytes and, half way, lets the store's headroom fall
// under the floor (and the clock move on, so the reading is fresh).
type shrinking struct {
	r     io.Reader
	read  int64
	at    int64
	fall  func()
	fired bool
}

func (s *shrinking) Read(p []byte) (int, error) {
	n, err := s.r.Read(p)
	s.read += int64(n)
	if s.read >= s.at && !s.fired {
		s.fired = true
		s.fall()
	}
	return n, err
}

// TestFloorStopsUploadUnderWay checks that an attachment already streaming
// stops when the store falls under its floor, and leaves no chunk behind.
func TestFloorStopsUploadUnderWay(t *testing.T) {
	q, err := embedded.Open(context.Background(), filepath.Join(t.TempDir(), "q.db"), embedded.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { q.Close() })
	var headroom atomic.Int64
	headroom.Store(math.MaxInt64)
	clk := &testClock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	spy := &chunkSpy{Queue: q}
	in := flooredIntake(t, spy, clk, Floor{Name: "test", Bytes: 100 << 20, Capacity: CapacityFunc(func(context.Context) (int64, error) {
		return headroom.Load(), nil
	})})
	src := &shrinking{r: bytes.NewReader(make([]byte, 5*crypto.ChunkSize)), at: 2 * crypto.ChunkSize, fall: func() {
		headroom.Store(1 << 20)
		clk.tick()
	}}
	d := in.NewDraft("web")
	if _, err := d.Attach(context.Background(), "big.bin", "", src); !errors.Is(err, channels.ErrNoRoom) {
		t.Fatalf("attach went on under the floor: %v", err)
	}
	if spy.blob == "" || spy.chunks < 1 {
		t.Fatalf("the upload did not get under way: %d chunks", spy.chunks)
	}
	if _, err := q.GetChunk(context.Background(), spy.blob, 0); !errors.Is(err, queue.ErrNotFound) {
		t.Fatalf("chunks left behind: %v", err)
	}
}

// chunkSpy records which blob chunks were written to.
type chunkSpy struct {
	queue.Queue
	blob   string
	chunks int
}

func (c *chunkSpy) PutChunk(ctx context.Context, id string, i int, data []byte) error {
	c.blob = id
	c.chunks++
	return c.Queue.PutChunk(ctx, id, i, data)
}

// TestDiskCapacity checks the disk headroom against df's.
func TestDiskCapacity(t *testing.T) {
	dir := t.TempDir()
	got, err := DiskCapacity(dir).Headroom(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("df", "--output=avail", "-B1", dir).Output()
	if err != nil {
		t.Skipf("df: %v", err)
	}
	fields := strings.Fields(string(out))
	want, err := strconv.ParseInt(fields[len(fields)-1], 10, 64)
	if err != nil {
		t.Fatalf("df said %q", out)
	}
	if diff := math.Abs(float64(got - want)); diff > 64<<20 {
		t.Fatalf("headroom %d, df says %d", got, want)
	}
	if _, err := DiskCapacity(filepath.Join(dir, "missing")).Headroom(context.Background()); err == nil {
		t.Fatal("no error for a missing directory")
	}
}

// TestRedisMemoryFloor runs the floors against a real redis-server with
// maxmemory set: the queue's MemoryHeadroom is what the gateway plugs in.
func TestRedisMemoryFloor(t *testing.T) {
	srv := testredis.Start(t)
	ctx := context.Background()
	q, err := redis.OpenURL(ctx, srv.URL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { q.Close() })
	if h, err := q.MemoryHeadroom(ctx); err != nil || h != math.MaxInt64 {
		t.Fatalf("headroom without maxmemory: %d, %v", h, err)
	}
	admin := goredis.NewClient(&goredis.Options{Addr: srv.Addr()})
	t.Cleanup(func() { admin.Close() })
	used := func() int64 {
		info, err := admin.Info(ctx, "memory").Result()
		if err != nil {
			t.Fatal(err)
		}
		for _, line := range strings.Split(info, "\n") {
			if v, ok := strings.CutPrefix(strings.TrimSpace(line), "used_memory:"); ok {
				n, _ := strconv.ParseInt(v, 10, 64)
				return n
			}
		}
		t.Fatal("no used_memory")
		return 0
	}
	setMax := func(n int64) {
		if err := admin.ConfigSet(ctx, "maxmemory", strconv.FormatInt(n, 10)).Err(); err != nil {
			t.Fatal(err)
		}
	}
	cfg := DefaultConfig()
	cfg.DiskFloor = 0
	cfg.RedisMemoryFloor = 64 << 20
	floors := cfg.Floors(q)
	if len(floors) != 1 || floors[0].Name != "redis memory" {
		t.Fatalf("floors for a Redis queue: %+v", floors)
	}
	clk := &testClock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	in := flooredIntake(t, q, clk, floors...)

	setMax(used() + 40<<20)
	if h, err := q.MemoryHeadroom(ctx); err != nil || h <= 30<<20 || h > 40<<20 {
		t.Fatalf("headroom %d, %v; want about 40 MiB", h, err)
	}
	clk.tick()
	if aerr, _ := tryTip(in, "file"); !errors.Is(aerr, channels.ErrNoRoom) {
		t.Fatalf("attachment under the memory floor: %v", aerr)
	}
	if _, serr := tryTip(in, ""); serr != nil {
		t.Fatalf("text refused above a quarter of the floor: %v", serr)
	}
	setMax(used() + 4<<20)
	clk.tick()
	if _, serr := tryTip(in, ""); !errors.Is(serr, channels.ErrUnavailable) {
		t.Fatalf("text taken under a quarter of the floor: %v", serr)
	}
	setMax(0)
	clk.tick()
	if aerr, serr := tryTip(in, "file"); aerr != nil || serr != nil {
		t.Fatalf("refused with maxmemory lifted: %v, %v", aerr, serr)
	}
}
