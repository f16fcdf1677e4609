package redis

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/flarehq/flare/queue"
)

// DefaultPrefix starts every key unless Options.Prefix says otherwise.
const DefaultPrefix = "flare:"

// DefaultPoolSize is the number of connections kept to Redis unless the
// URL sets pool_size.
const DefaultPoolSize = 64

// Durability says what Open does with a server that does not fsync every
// write.
type Durability int

const (
	// RequireFsync refuses a server whose CONFIG shows appendonly other
	// than yes or appendfsync other than always.
	RequireFsync Durability = iota
	// WarnFsync logs a warning and uses the server anyway.
	WarnFsync
)

// Options configure a Queue.
type Options struct {
	// Prefix starts every key; "" means DefaultPrefix.
	Prefix string
	// Durability is checked once at Open.
	Durability Durability
	// Log receives the durability warning; nil means slog.Default().
	Log *slog.Logger
	// PollInterval bounds how long one blocking XREADGROUP waits before
	// Read looks again for expired pending messages and cancellation;
	// 0 means 500 milliseconds.
	PollInterval time.Duration
}

// Queue is a queue.Queue on Redis. It is safe for concurrent use, also by
// other processes and machines using the same server and prefix.
type Queue struct {
	c      *goredis.Client
	prefix string
	poll   time.Duration
	groups sync.Map // stream key + "\x00" + group → struct{}, groups known to exist
	shut   atomic.Bool
}

var _ queue.Queue = (*Queue)(nil)

// ParseURL splits a redis:// or rediss:// URL into go-redis options and
// Flare's own: ?prefix=KEYPREFIX, ?durability=require|warn, and for
// rediss:// ?tls_ca=FILE, a PEM file of the CA certificates to trust
// instead of the system's.
func ParseURL(raw string) (*goredis.Options, Options, error) {
	ro, opts, err := parseURL(raw)
	// url.Parse and go-redis quote the whole URL, password and all, in
	// their errors.
	return ro, opts, queue.RedactError(err, raw)
}

func parseURL(raw string) (*goredis.Options, Options, error) {
	var opts Options
	u, err := url.Parse(raw)
	if err != nil {
		return nil, opts, fmt.Errorf("redis queue url: %w", err)
	}
	if u.Scheme != "redis" && u.Scheme != "rediss" {
		return nil, opts, fmt.Errorf("redis queue url: scheme %q, want redis or rediss", u.Scheme)
	}
	q := u.Query()
	if q.Has("prefix") {
		opts.Prefix = q.Get("prefix")
		if opts.Prefix == "" {
			return nil, opts, errors.New("redis queue url: empty prefix")
		}
		q.Del("prefix")
	}
	switch d := q.Get("durability"); d {
	case "", "require":
		opts.Durability = RequireFsync
	case "warn":
		opts.Durability = WarnFsync
	default:
		return nil, opts, fmt.Errorf("redis queue url: durability %q, want require or warn", d)
	}
	q.Del("durability")
	caFile := q.Get("tls_ca")
	q.Del("tls_ca")
	u.RawQuery = q.Encode()
	ro, err := goredis.ParseURL(u.String())
	if err != nil {
		return nil, opts, fmt.Errorf("redis queue url: %w", err)
	}
	if caFile != "" {
		if ro.TLSConfig == nil {
			return nil, opts, errors.New("redis queue url: tls_ca needs a rediss:// URL")
		}
		pemBytes, err := os.ReadFile(caFile)
		if err != nil {
			return nil, opts, fmt.Errorf("redis queue url: tls_ca: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pemBytes) {
			return nil, opts, fmt.Errorf("redis queue url: tls_ca %s holds no PEM certificate", caFile)
		}
		ro.TLSConfig.RootCAs = pool
	}
	if ro.TLSConfig != nil && ro.TLSConfig.MinVersion < tls.VersionTLS12 {
		ro.TLSConfig.MinVersion = tls.VersionTLS12
	}
	return ro, opts, nil
}

// OpenURL opens a Queue from a redis:// or rediss:// URL.
func OpenURL(ctx context.Context, raw string) (*Queue, error) {
	ro, opts, err := ParseURL(raw)
	if err != nil {
		return nil, err
	}
	return Open(ctx, ro, opts)
}

// Open connects to Redis, checks that it answers and that it fsyncs every
// write (see Options.Durability), and returns a Queue.
func Open(ctx context.Context, ro *goredis.Options, opts Options) (*Queue, error) {
	if opts.Prefix == "" {
		opts.Prefix = DefaultPrefix
	}
	if opts.Log == nil {
		opts.Log = slog.Default()
	}
	if opts.PollInterval <= 0 {
		opts.PollInterval = 500 * time.Millisecond
	}
	copied := *ro
	ro = &copied
	ro.ContextTimeoutEnabled = true
	if ro.PoolSize == 0 {
		// Enough connections for a gateway's concurrent submissions and
		// a few blocked readers; go-redis's default (10 per core) queues
		// writers behind one another on small machines.
		ro.PoolSize = DefaultPoolSize
	}
	c := goredis.NewClient(ro)
	if err := c.Ping(ctx).Err(); err != nil {
		c.Close()
		return nil, fmt.Errorf("redis queue at %s: %w", ro.Addr, err)
	}
	if err := checkDurable(ctx, c, opts); err != nil {
		c.Close()
		return nil, fmt.Errorf("redis queue at %s: %w", ro.Addr, err)
	}
	return &Queue{c: c, prefix: opts.Prefix, poll: opts.PollInterval}, nil
}

// ErrNotDurable is returned by Open for a server that does not fsync every
// write to its append-only file.
var ErrNotDurable = errors.New("server does not fsync every write: set appendonly yes and appendfsync always (see ops/redis.conf)")

func checkDurable(ctx context.Context, c *goredis.Client, opts Options) error {
	got := map[string]string{}
	for _, key := range []string{"appendonly", "appendfsync"} {
		m, err := c.ConfigGet(ctx, key).Result()
		if err != nil {
			opts.Log.Warn("redis durability cannot be checked; make sure appendonly is yes and appendfsync is always", "error", err)
			return nil
		}
		got[key] = strings.ToLower(m[key])
	}
	if got["appendonly"] == "yes" && got["appendfsync"] == "always" {
		return nil
	}
	if opts.Durability == WarnFsync {
		opts.Log.Warn("redis does not fsync every write: an acknowledged tip can be lost in a crash",
			"appendonly", got["appendonly"], "appendfsync", got["appendfsync"])
		return nil
	}
	return fmt.Errorf("%w (appendonly=%s appendfsync=%s)", ErrNotDurable, got["appendonly"], got["appendfsync"])
}

// Client returns the underlying go-redis client, for tests and metrics.
func (q *Queue) Client() *goredis.Client { return q.c }

// Close closes the connections. Later calls return queue.ErrClosed.
func (q *Queue) Close() error {
	if q.shut.Swap(true) {
		return nil
	}
	return q.c.Close()
}

// check returns the error a call must fail with before it starts.
func (q *Queue) check(ctx context.Context) error {
	if q.shut.Load() {
		return queue.ErrClosed
	}
	return ctx.Err()
}

// wrap gives err context, and reports queue.ErrClosed for calls that
// raced with Close.
func (q *Queue) wrap(err error, format string, args ...any) error {
	if err == nil {
		return nil
	}
	if q.shut.Load() {
		// Whatever broke, it broke because the queue was closed.
		err = queue.ErrClosed
	}
	return fmt.Errorf("redis queue: "+format+": %w", append(args, err)...)
}

// Keys. Hash tags ({…}) keep what one command changes together in one
// Redis Cluster slot.
func (q *Queue) streamKey(stream string) string { return q.prefix + "stream:" + stream }
func (q *Queue) blobIndexKey(blob string) string {
	return q.prefix + "blob:{" + blob + "}"
}
func (q *Queue) chunkKey(blob string, index int) string {
	return fmt.Sprintf("%sblob:{%s}:%d", q.prefix, blob, index)
}

// blobMetaKey is a hash of what the queue knows about a blob outside the
// seal: "created" (queue.HourMillis) and, once CommitBlobs marked it,
// "committed".
func (q *Queue) blobMetaKey(blob string) string {
	return q.prefix + "blob:{" + blob + "}:m"
}
func (q *Queue) recordKey(key string) string   { return q.prefix + "{rec}:" + key }
func (q *Queue) recordIndexKey() string        { return q.prefix + "{rec}" }
func (q *Queue) logKey(key string) string      { return q.prefix + "log:" + key }
func (q *Queue) rememberKey(key string) string { return q.prefix + "seen:" + key }
