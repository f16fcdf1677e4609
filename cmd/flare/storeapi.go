package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/flarehq/flare/queue"
	"github.com/flarehq/flare/queue/remote"
)

// serveStore serves q to remote consoles on addr (loopback; a tor onion
// service with client authorization publishes it) until ctx is done. An
// empty addr serves nothing.
func serveStore(ctx context.Context, addr string, q queue.Queue, log *slog.Logger) error {
	if addr == "" {
		return nil
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("console listen: %w", err)
	}
	srv := &http.Server{
		Handler:           remote.Handler(q),
		ReadHeaderTimeout: 30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    16 << 10,
		BaseContext:       func(net.Listener) context.Context { return ctx },
	}
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		srv.Shutdown(sctx)
	}()
	go func() {
		if err := srv.Serve(ln); err != nil && err != http.ErrServerClosed {
			log.Error("console store server stopped", "err", err)
		}
	}()
	log.Info("serving the store to remote consoles", "addr", ln.Addr().String())
	return nil
}
