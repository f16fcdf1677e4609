package main

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestGatewayTightensDataDir: a gateway started on a data directory that
// already existed with mode 0755 kept it so. It now makes it 0700 and
// logs that it did.
func TestGatewayTightensDataDir(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	dir := filepath.Join(t.TempDir(), "data")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	cfg := defaultGatewayConfig()
	cfg.Core.DataDir = dir
	cfg.Core.Recipients = []string{recipientString(t)}
	var logs bytes.Buffer
	g, err := openGateway(ctx, cfg, slog.New(slog.NewTextHandler(&logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	info, err := os.Stat(dir)
	if err != nil {
		t.Fatal(err)
	}
	if info.Mode().Perm() != 0o700 {
		t.Fatalf("data directory left at mode %04o, want 0700", info.Mode().Perm())
	}
	if !strings.Contains(logs.String(), "tightened to 0700") {
		t.Fatalf("log does not say the data directory was tightened: %q", logs.String())
	}
}
