package onion

import (
	"context"
	"fmt"
	"log"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/flarehq/flare/channels"
)

// Channel publishes the web intake as a v3 onion service. It implements
// channels.Channel and channels.HealthReporter.
type Channel struct {
	cfg     Config
	log     *slog.Logger
	handler http.Handler
	dir     string // DataDir/onion
	key     serviceKey

	mu     sync.Mutex
	health channels.Health
	pid    int // the own tor's PID while it runs, for tests
	ready  chan struct{}
	closed bool
}

// New checks cfg, loads (or creates, or imports) the service key and
// writes DataDir/onion/hostname. Nothing runs until Run.
func New(cfg Config, deps channels.Deps) (*Channel, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	if cfg.MinBackoff <= 0 {
		cfg.MinBackoff = time.Second
	}
	if cfg.MaxBackoff <= 0 {
		cfg.MaxBackoff = time.Minute
	}
	lg := deps.Log
	if lg == nil {
		lg = slog.Default()
	}
	lg = lg.With("channel", "onion")
	dir := filepath.Join(cfg.DataDir, "onion")
	key, created, err := loadOrCreateKey(dir, cfg.ImportKey)
	if err != nil {
		return nil, fmt.Errorf("onion: %w", err)
	}
	if created {
		lg.Info("onion service key created", "address", key.Address(), "file", filepath.Join(dir, keyFile))
	}
	return &Channel{
		cfg:     cfg,
		log:     lg,
		handler: withPolicy(cfg.Handler),
		dir:     dir,
		key:     key,
		health:  channels.Health{OK: false, Status: "not started", Since: time.Now()},
		ready:   make(chan struct{}),
	}, nil
}

// Name implements channels.Channel.
func (c *Channel) Name() string { return "onion" }

// Routes implements channels.Channel. The onion service has no routes on
// the gateway's own server: it serves the intake on a loopback listener
// of its own, which only tor connects to.
func (c *Channel) Routes(*http.ServeMux) {}

// Address is the onion service's address, "<56 characters>.onion". It is
// fixed once New returns.
func (c *Channel) Address() string { return c.key.Address() }

// Health implements channels.HealthReporter.
func (c *Channel) Health() channels.Health {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.health
}

func (c *Channel) setHealth(ok bool, status string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.health.OK != ok || c.health.Status != status {
		c.health = channels.Health{OK: ok, Status: status, Since: time.Now()}
	}
}

// Published returns a channel that is closed the first time the service's
// descriptor has been uploaded, for callers (tests, a demo) that want to
// wait for it.
func (c *Channel) Published() <-chan struct{} { return c.ready }

// Run serves the intake on a loopback listener, starts or attaches to tor,
// publishes the service and keeps it published until ctx is done: when tor
// dies or the control connection drops, it reports so in Health, waits
// (doubling from MinBackoff to MaxBackoff), and publishes the same address
// again. Run returns nil once ctx is done.
func (c *Channel) Run(ctx context.Context) error {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		c.setHealth(false, "cannot listen on loopback")
		return fmt.Errorf("onion: listen: %w", err)
	}
	srv := &http.Server{
		Handler:           c.handler,
		ReadHeaderTimeout: 60 * time.Second, // Tor circuits are slow
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    32 << 10,
		ErrorLog:          log.New(errorLog{c.log}, "", 0),
		BaseContext:       func(net.Listener) context.Context { return ctx },
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	defer func() {
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		srv.Shutdown(sctx)
	}()
	port := ln.Addr().(*net.TCPAddr).Port
	c.log.Info("onion service address", "address", c.key.Address(), "hostname_file", filepath.Join(c.dir, hostnameFile))

	backoff := c.cfg.MinBackoff
	for {
		started := time.Now()
		err := c.session(ctx, port)
		if ctx.Err() != nil {
			c.setHealth(false, "stopped")
			return nil
		}
		select {
		case err := <-served:
			c.setHealth(false, "intake listener failed")
			return fmt.Errorf("onion: serve: %w", err)
		default:
		}
		// A session that stayed up a while was healthy; start the
		// backoff again.
		if time.Since(started) > 5*c.cfg.MaxBackoff {
			backoff = c.cfg.MinBackoff
		}
		c.setHealth(false, fmt.Sprintf("tor unavailable, retrying in %s: %v", backoff, err))
		c.log.Warn("onion service down; restarting tor", "err", err, "retry_in", backoff.String())
		select {
		case <-ctx.Done():
			c.setHealth(false, "stopped")
			return nil
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, c.cfg.MaxBackoff)
	}
}

// session runs one tor (or one control connection to an attached tor)
// from start to end: it returns why the service went down.
func (c *Channel) session(ctx context.Context, port int) error {
	var (
		t   *torConn
		err error
	)
	if c.cfg.attach() {
		c.setHealth(false, "connecting to tor's control port")
		t, err = attachTor(ctx, c.cfg, c.log)
	} else {
		c.setHealth(false, "starting tor")
		t, err = startTor(ctx, c.cfg, filepath.Join(c.dir, "tor"), c.log)
	}
	if err != nil {
		return err
	}
	defer t.close()
	c.mu.Lock()
	c.pid = t.pid
	c.mu.Unlock()
	defer func() {
		c.mu.Lock()
		c.pid = 0
		c.mu.Unlock()
	}()

	c.setHealth(false, "publishing")
	uploaded, err := t.publish(ctx, c.key, c.onionOptions(port))
	if err != nil {
		return err
	}
	published := false
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-uploaded:
			uploaded = nil
			if !published {
				published = true
				if t.noPoW {
					c.setHealth(true, "published WITHOUT the proof-of-work defence (tor too old)")
				} else {
					c.setHealth(true, "published")
				}
				c.log.Info("onion service published", "address", c.key.Address())
				c.mu.Lock()
				if !c.closed {
					c.closed = true
					close(c.ready)
				}
				c.mu.Unlock()
			}
		case err := <-t.done:
			return err
		}
	}
}

// onionOptions are ADD_ONION's arguments after the key: the defences and
// the port mapping to the loopback listener.
func (c *Channel) onionOptions(port int) []string {
	var opts []string
	flags := "DiscardPK"
	if c.cfg.MaxStreams > 0 {
		flags += ",MaxStreamsCloseCircuit"
		opts = append(opts, "MaxStreams="+strconv.Itoa(c.cfg.MaxStreams))
	}
	opts = append([]string{"Flags=" + flags}, opts...)
	if c.cfg.PoW {
		opts = append(opts, "PoWDefensesEnabled=1")
		if c.cfg.PoWQueueRate > 0 {
			opts = append(opts, "PoWQueueRate="+strconv.Itoa(c.cfg.PoWQueueRate))
		}
		if c.cfg.PoWQueueBurst > 0 {
			opts = append(opts, "PoWQueueBurst="+strconv.Itoa(c.cfg.PoWQueueBurst))
		}
	}
	return append(opts, "Port=80,127.0.0.1:"+strconv.Itoa(port))
}

// torPID is the PID of the channel's own tor while one runs, else 0.
func (c *Channel) torPID() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.pid
}

// errorLog turns net/http's server error log into a slog line that keeps
// only that something went wrong: its messages can name client addresses.
type errorLog struct{ log *slog.Logger }

func (e errorLog) Write(p []byte) (int, error) {
	e.log.Debug("onion http server error")
	return len(p), nil
}

var _ channels.Channel = (*Channel)(nil)
var _ channels.HealthReporter = (*Channel)(nil)
