package testtor

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"testing"
)

// shared is the one network of a test binary. It is package state because
// a network costs 20–45 s to start and every test of a binary should reuse
// it; Main owns its end.
var shared struct {
	once sync.Once
	mu   sync.Mutex
	net  *Network
	dir  string
	err  error
}

// Main runs the tests of m and then stops the shared network, if a test
// started one. Use it as: func TestMain(m *testing.M) { os.Exit(testtor.Main(m)) }
func Main(m *testing.M) int {
	code := m.Run()
	shared.mu.Lock()
	defer shared.mu.Unlock()
	if shared.net != nil {
		shared.net.Stop()
		shared.net = nil
	}
	if shared.dir != "" && code == 0 {
		os.RemoveAll(shared.dir)
	} else if shared.dir != "" {
		fmt.Fprintf(os.Stderr, "testtor: network logs kept in %s\n", shared.dir)
	}
	return code
}

// Shared returns the test binary's network, starting it on first use. It
// skips t when tor is not installed and fails it when the network could
// not start. The package must use Main in its TestMain, or the network
// outlives the tests until the tors notice the test binary is gone.
func Shared(t testing.TB) *Network {
	t.Helper()
	shared.once.Do(func() {
		dir, err := os.MkdirTemp("", "testtor-")
		if err != nil {
			shared.err = err
			return
		}
		n, err := Start(context.Background(), dir, Options{Logf: func(f string, a ...any) { t.Logf("testtor: "+f, a...) }})
		shared.mu.Lock()
		defer shared.mu.Unlock()
		shared.dir, shared.net, shared.err = dir, n, err
		if err == nil {
			t.Logf("testtor: network up in %.1fs", n.StartupTime().Seconds())
		}
	})
	shared.mu.Lock()
	defer shared.mu.Unlock()
	if errors.Is(shared.err, ErrNotInstalled) {
		t.Skipf("skipping: %v", shared.err)
	}
	if shared.err != nil {
		t.Fatalf("private tor network: %v (logs in %s)", shared.err, shared.dir)
	}
	return shared.net
}

// New starts a network of t's own in t.TempDir(), stopped by PID in
// t.Cleanup. It skips t when tor is not installed.
func New(t testing.TB, opts Options) *Network {
	t.Helper()
	if _, _, err := Binaries(); err != nil {
		t.Skipf("skipping: %v", err)
	}
	if opts.Logf == nil {
		opts.Logf = func(f string, a ...any) { t.Logf("testtor: "+f, a...) }
	}
	n, err := Start(context.Background(), t.TempDir(), opts)
	if err != nil {
		t.Fatalf("private tor network: %v", err)
	}
	t.Cleanup(n.Stop)
	return n
}
