package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/flarehq/flare/channels"
	"github.com/flarehq/flare/queue"
)

// Server is the gateway's HTTP server and the owner of its channels'
// background work. Open it with NewServer, start it with Run.
type Server struct {
	mux      *http.ServeMux
	channels []channels.Channel
	queue    queue.Queue
	log      *slog.Logger
	started  time.Time
	handler  http.Handler // the mux, wrapped by Use
}

// NewServer registers every channel's routes on one mux. The health,
// readiness and metrics endpoints are not among them: they are on the
// admin listener (AdminHandler), because they tell which channels are on
// and whether the queue is up, which is nobody's business on the intake.
func NewServer(q queue.Queue, log *slog.Logger, chans ...channels.Channel) *Server {
	s := &Server{mux: http.NewServeMux(), channels: chans, queue: q, log: log, started: time.Now()}
	for _, c := range chans {
		c.Routes(s.mux)
	}
	return s
}

// Handler returns the server's routes, for tests and for embedding.
func (s *Server) Handler() http.Handler {
	if s.handler != nil {
		return s.handler
	}
	return s.mux
}

// Use wraps the server's routes in mw (metrics that watch responses).
func (s *Server) Use(mw func(http.Handler) http.Handler) { s.handler = mw(s.Handler()) }

// Run serves HTTP on ln and runs every channel until ctx is done, then shuts
// down gracefully. A channel whose Run fails is logged; the others go on,
// so that one broken channel (tor gone, Telegram unreachable) does not take
// the rest down.
func (s *Server) Run(ctx context.Context, ln net.Listener) error {
	srv := &http.Server{
		Handler:           s.Handler(),
		ReadHeaderTimeout: 20 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    32 << 10,
		// net/http's own error log includes client addresses ("TLS
		// handshake error from 203.0.113.9"); it is replaced by one that
		// keeps only that something went wrong.
		ErrorLog: log.New(addresslessLog{s.log}, "", 0),
		BaseContext: func(net.Listener) context.Context {
			return ctx
		},
	}
	var wg sync.WaitGroup
	for _, c := range s.channels {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := c.Run(ctx); err != nil && !errors.Is(err, context.Canceled) {
				s.log.Error("channel stopped", "channel", c.Name(), "err", err)
			}
		}()
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	var err error
	select {
	case <-ctx.Done():
	case err = <-errc:
	}
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	if serr := srv.Shutdown(shutdownCtx); serr != nil && err == nil {
		err = serr
	}
	wg.Wait()
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	if err != nil {
		return fmt.Errorf("gateway server: %w", err)
	}
	return nil
}

type healthReport struct {
	OK       bool                       `json:"ok"`
	Queue    string                     `json:"queue"`
	Channels map[string]channels.Health `json:"channels"`
	Started  time.Time                  `json:"started"`
	Uptime   string                     `json:"uptime"`
}

func (s *Server) health(w http.ResponseWriter, r *http.Request) {
	rep := healthReport{OK: true, Queue: "ok", Channels: map[string]channels.Health{}, Started: s.started.UTC(), Uptime: time.Since(s.started).Round(time.Second).String()}
	ctx, cancel := context.WithTimeout(r.Context(), 3*time.Second)
	defer cancel()
	if _, err := s.queue.List(ctx, queue.StreamTips, "", 1); err != nil {
		rep.OK, rep.Queue = false, "unavailable"
	}
	for _, c := range s.channels {
		// A channel with no state of its own has run since the server
		// started. (Leaving Since unset reported the year 0001.)
		h := channels.Health{OK: true, Status: "running", Since: s.started.UTC()}
		if hr, ok := c.(channels.HealthReporter); ok {
			h = hr.Health()
		}
		if !h.OK {
			rep.OK = false
		}
		rep.Channels[c.Name()] = h
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	if !rep.OK {
		w.WriteHeader(http.StatusServiceUnavailable)
	}
	json.NewEncoder(w).Encode(rep)
}

// addresslessLog receives net/http's error log and records only that an
// error happened, never its text, which can hold a client's address.
type addresslessLog struct{ log *slog.Logger }

func (a addresslessLog) Write(p []byte) (int, error) {
	a.log.Debug("http server error (details withheld: they can name a client)")
	return len(p), nil
}
