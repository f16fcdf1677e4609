package main

import (
	"os/user"
	"testing"
)

func TestDefaultDataDir(t *testing.T) {
	asFlare := false
	if u, err := user.Current(); err == nil && u.Username == "flare" {
		asFlare = true
	}
	tests := []struct {
		name    string
		environ []string
		want    string
	}{
		{"a shell keeps the relative default", []string{"HOME=/root", "PATH=/usr/bin"}, "flare-data"},
		{"systemd invocation", []string{"INVOCATION_ID=0123456789abcdef"}, "/var/lib/flare"},
		{"systemd notify socket", []string{"NOTIFY_SOCKET=/run/systemd/notify"}, "/var/lib/flare"},
		{"StateDirectory wins", []string{"INVOCATION_ID=1", "STATE_DIRECTORY=/var/lib/flare-b:/var/lib/other"}, "/var/lib/flare-b"},
		{"relative STATE_DIRECTORY ignored", []string{"STATE_DIRECTORY=rel"}, "flare-data"},
		{"empty INVOCATION_ID is not systemd", []string{"INVOCATION_ID="}, "flare-data"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want := tt.want
			if asFlare && want == "flare-data" {
				want = "/var/lib/flare"
			}
			if got := defaultDataDir(tt.environ, "flare-data"); got != want {
				t.Errorf("got %q, want %q", got, want)
			}
		})
	}
}

// TestGatewayDataDirUnderSystemd: the gateway started by systemd keeps its
// state in /var/lib/flare unless told otherwise, and an explicit
// --data-dir or FLARE_DATA_DIR still wins.
func TestGatewayDataDirUnderSystemd(t *testing.T) {
	dir := t.TempDir()
	cfg := defaultGatewayConfig()
	env := []string{"INVOCATION_ID=1"}
	cfg.Core.DataDir = defaultDataDir(env, cfg.Core.DataDir)
	if _, err := loadGatewayConfig(cfg, nil, env); err != nil {
		t.Fatal(err)
	}
	if cfg.Core.DataDir != "/var/lib/flare" || cfg.Core.QueueURL() != "file:/var/lib/flare/flare.db" {
		t.Errorf("data dir %q, queue %q", cfg.Core.DataDir, cfg.Core.QueueURL())
	}
	cfg = defaultGatewayConfig()
	env = []string{"INVOCATION_ID=1", "FLARE_DATA_DIR=" + dir}
	cfg.Core.DataDir = defaultDataDir(env, cfg.Core.DataDir)
	if _, err := loadGatewayConfig(cfg, nil, env); err != nil {
		t.Fatal(err)
	}
	if cfg.Core.DataDir != dir {
		t.Errorf("FLARE_DATA_DIR lost to the service default: %q", cfg.Core.DataDir)
	}
}
