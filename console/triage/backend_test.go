package triage_test

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"

	"github.com/flarehq/flare/console/triage"
	"github.com/flarehq/flare/internal/testredis"
	"github.com/flarehq/flare/queue"
	"github.com/flarehq/flare/queue/backend"
)

// TestConcurrentApplyOnRealBackends races key-holders saving the same
// version of a record on the real backends: exactly one save wins, every
// other gets a ConflictError, and history has exactly one entry.
func TestConcurrentApplyOnRealBackends(t *testing.T) {
	backends := map[string]func(t *testing.T) string{
		"embedded": func(t *testing.T) string { return "file:" + filepath.Join(t.TempDir(), "flare.db") },
		"redis": func(t *testing.T) string {
			if _, err := exec.LookPath("redis-server"); err != nil {
				t.Skip("redis-server is not installed")
			}
			return testredis.Start(t).URL()
		},
	}
	for name, url := range backends {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			q, err := backend.Open(ctx, url(t))
			if err != nil {
				t.Fatal(err)
			}
			defer q.Close()
			const n = 6
			var hs []keyholder
			for range n {
				hs = append(hs, newKeyholder(t))
			}
			stores := make([]*triage.Store, n)
			for i := range n {
				stores[i] = newStore(t, q, fmt.Sprintf("kh%d", i), hs[i], hs...)
			}
			var wg sync.WaitGroup
			errs := make([]error, n)
			for i := range n {
				wg.Go(func() {
					_, errs[i] = stores[i].Apply(ctx, "1-0", 0, triage.Change{Note: fmt.Sprintf("note from kh%d", i)})
				})
			}
			wg.Wait()
			wins, conflicts := 0, 0
			for _, err := range errs {
				var ce *triage.ConflictError
				switch {
				case err == nil:
					wins++
				case errors.As(err, &ce) && errors.Is(err, queue.ErrConflict):
					conflicts++
				default:
					t.Errorf("unexpected error: %v", err)
				}
			}
			if wins != 1 || conflicts != n-1 {
				t.Fatalf("%d wins, %d conflicts; want 1 and %d", wins, conflicts, n-1)
			}
			r, err := stores[0].Get(ctx, "1-0")
			if err != nil || r.Version != 1 || len(r.Notes) != 1 {
				t.Fatalf("record = %+v, %v", r, err)
			}
			h, err := stores[1].History(ctx, "1-0")
			if err != nil || len(h) != 1 || h[0].By != r.Notes[0].By {
				t.Fatalf("history = %+v, %v", h, err)
			}
		})
	}
}
