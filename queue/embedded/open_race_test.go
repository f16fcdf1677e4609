package embedded

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// TestConcurrentFirstOpen opens one new file from many stores at once, as a
// gateway and a `flare console list` did when they started together: each
// Store has its own connections, so they race to switch the new file to
// WAL. Every open must succeed. Before the fix, reading the journal mode
// of a file another connection was converting failed at once with
// SQLITE_BUSY ("database is locked"), busy timeout or not.
func TestConcurrentFirstOpen(t *testing.T) {
	// The race is lost about once in 50 rounds on a small machine;
	// 120 rounds failed every run of the old code.
	rounds, openers := 120, 8
	if testing.Short() {
		rounds = 20
	}
	dir := t.TempDir()
	for r := range rounds {
		path := filepath.Join(dir, fmt.Sprintf("round-%d.db", r))
		var wg sync.WaitGroup
		errs := make(chan error, openers)
		start := make(chan struct{})
		for range openers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
				defer cancel()
				<-start
				s, err := Open(ctx, path, Options{})
				if err != nil {
					errs <- err
					return
				}
				errs <- s.Close()
			}()
		}
		close(start)
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatalf("round %d: concurrent first open: %v", r, err)
			}
		}
	}
}
