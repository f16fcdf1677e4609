//go:build soak

package main

import (
	"fmt"
	"os"
	"os/signal"
	"runtime"
	"syscall"
)

// The soak build (go build -tags soak, used by make soak) answers SIGUSR1
// with its goroutine count on stdout, so that ops/cmd/flaresoak can see
// whether a hostile run left goroutines behind. It says nothing about
// sources, and ordinary builds do not contain it.
func init() {
	c := make(chan os.Signal, 1)
	signal.Notify(c, syscall.SIGUSR1)
	go func() {
		for range c {
			fmt.Fprintf(os.Stdout, "flaresoak goroutines=%d\n", runtime.NumGoroutine())
		}
	}()
}
