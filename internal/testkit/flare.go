package testkit

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
)

// flare is the flare binary FlareBinary builds, once per test binary.
var flare struct {
	once sync.Once
	mu   sync.Mutex // guards dir against Cleanup
	dir  string
	path string
	err  error
}

// FlareBinary returns the path of the flare command, built from
// github.com/flarehq/flare/cmd/flare into a temporary directory on the first
// call; later calls return the same binary. A failed build fails t, with the
// compiler's output. Main or Cleanup removes the directory.
func FlareBinary(t testing.TB) string {
	t.Helper()
	flare.once.Do(func() {
		dir, err := os.MkdirTemp("", "flare-bin-")
		if err != nil {
			flare.err = fmt.Errorf("build flare: %w", err)
			return
		}
		flare.mu.Lock()
		flare.dir = dir
		flare.mu.Unlock()
		flare.path = filepath.Join(dir, "flare")
		out, err := exec.Command("go", "build", "-o", flare.path, "github.com/flarehq/flare/cmd/flare").CombinedOutput()
		if err != nil {
			flare.err = fmt.Errorf("go build cmd/flare: %v\n%s", err, out)
		}
	})
	if flare.err != nil {
		t.Fatal(flare.err)
	}
	return flare.path
}

// Cleanup removes the binary FlareBinary built, if it built one. Call it
// from TestMain after the tests have run.
func Cleanup() {
	flare.mu.Lock()
	defer flare.mu.Unlock()
	if flare.dir != "" {
		os.RemoveAll(flare.dir)
		flare.dir = ""
	}
}

// Main runs the tests, then Cleanup, and returns the exit code for os.Exit.
func Main(m *testing.M) int {
	code := m.Run()
	Cleanup()
	return code
}
