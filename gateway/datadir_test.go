package gateway

import (
	"bytes"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestPrepareDataDir: a data directory that already existed with mode
// 0755 was used as it was, leaving the hash key's folder open to every
// user. It is now tightened to 0700, and the log says so.
func TestPrepareDataDir(t *testing.T) {
	cases := []struct {
		name    string
		mode    os.FileMode // 0: the directory does not exist yet
		wantLog bool
	}{
		{"new", 0, false},
		{"existing 0755", 0o755, true},
		{"existing 0750", 0o750, true},
		{"existing 0707", 0o707, true},
		{"existing 0700", 0o700, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "data")
			if c.mode != 0 {
				// Mkdir's mode passes through the umask; Chmod does not.
				if err := os.Mkdir(dir, 0o700); err != nil {
					t.Fatal(err)
				}
				if err := os.Chmod(dir, c.mode); err != nil {
					t.Fatal(err)
				}
			}
			var logs bytes.Buffer
			log := slog.New(slog.NewTextHandler(&logs, nil))
			if err := PrepareDataDir(dir, log); err != nil {
				t.Fatal(err)
			}
			info, err := os.Stat(dir)
			if err != nil {
				t.Fatal(err)
			}
			if got := info.Mode().Perm(); got != 0o700 {
				t.Fatalf("data directory mode %04o, want 0700", got)
			}
			said := strings.Contains(logs.String(), "tightened to 0700")
			if said != c.wantLog {
				t.Fatalf("log %q: says it tightened the mode: %v, want %v", logs.String(), said, c.wantLog)
			}
		})
	}
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := PrepareDataDir(file, slog.New(slog.DiscardHandler)); err == nil || !strings.Contains(err.Error(), "not a directory") {
		t.Fatalf("PrepareDataDir on a file: err = %v, want \"not a directory\"", err)
	}
}
