package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"filippo.io/age"
)

func recipientString(t *testing.T) string {
	t.Helper()
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	return id.Recipient().String()
}

func TestGatewayRefusesBadRecipients(t *testing.T) {
	dir := t.TempDir()
	good := recipientString(t)
	tests := []struct {
		name string
		args []string
		env  []string
		want string
	}{
		{"none", []string{"--data-dir", dir}, nil, "no key-holder recipients"},
		{"malformed flag", []string{"--data-dir", dir, "--recipient", "age1notakey"}, nil, `"age1notakey"`},
		{"malformed env", []string{"--data-dir", dir}, []string{"FLARE_RECIPIENTS=" + good + ",age1broken"}, `"age1broken"`},
		{"not a recipient", []string{"--data-dir", dir, "--recipient", "AGE-SECRET-KEY-1XYZ"}, nil, "secret key, not a recipient"},
		{"mixed pq and classic", []string{"--data-dir", dir, "--recipient", good, "--recipient", pqRecipient(t)}, nil, "post-quantum"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			var out, errb strings.Builder
			a := &app{stdout: &out, stderr: &errb, environ: tt.env}
			code := a.main(ctx, append([]string{"gateway", "--listen", "127.0.0.1:0"}, tt.args...))
			if code == 0 {
				t.Fatal("gateway started")
			}
			if !strings.Contains(errb.String(), tt.want) {
				t.Fatalf("error %q does not mention %q", errb.String(), tt.want)
			}
		})
	}
}

func pqRecipient(t *testing.T) string {
	id, err := age.GenerateHybridIdentity()
	if err != nil {
		t.Fatal(err)
	}
	return id.Recipient().String()
}

func TestGatewayRecipientsFile(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "recipients.txt")
	os.WriteFile(file, []byte("# key-holders\n"+recipientString(t)+"\n\nage1oops\n"), 0o600)
	code, _, stderr := runApp(t, nil, "gateway", "--data-dir", dir, "--recipients-file", file)
	if code == 0 || !strings.Contains(stderr, "line 4") {
		t.Fatalf("exit %d, %q: want an error naming line 4", code, stderr)
	}
}

func TestGatewayHelpDocumentsEverySetting(t *testing.T) {
	code, stderr, errOut := runApp(t, nil, "gateway", "--help")
	if code != 0 || errOut != "" {
		t.Fatalf("exit %d, stderr %q: --help is output, not an error", code, errOut)
	}
	cfg := defaultGatewayConfig()
	for _, s := range cfg.settings() {
		if s.Flag != "" && !strings.Contains(stderr, "--"+s.Flag) {
			t.Errorf("--help does not document --%s", s.Flag)
		}
		if s.Env != "" && !strings.Contains(stderr, s.Env) {
			t.Errorf("--help does not document %s", s.Env)
		}
		if !strings.Contains(stderr, s.Key) {
			t.Errorf("--help does not document the file key %s", s.Key)
		}
	}
}

// TestGatewaySettingsPrecedence checks flags > FLARE_* environment > config
// file > defaults on the core settings (issue 16, test 2).
func TestGatewaySettingsPrecedence(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "flare.toml")
	os.WriteFile(file, []byte("listen = \"127.0.0.1:7001\"\nlog_level = \"warn\"\nlog_format = \"json\"\n[limits]\nmax_attachments = 3\nmax_attachment_size = \"2MiB\"\n[texts.en]\n\"web.title\" = \"Contact\"\n"), 0o600)
	cfg := defaultGatewayConfig()
	env := []string{"FLARE_LISTEN=127.0.0.1:7000", "FLARE_LOG_LEVEL=debug", "FLARE_DATA_DIR=/tmp/from-env", "FLARE_MAX_TEXT_BYTES=100", "FLARE_MAX_ATTACHMENT_SIZE=3MiB"}
	_, err := loadGatewayConfig(cfg, []string{"--config", file, "--listen", "127.0.0.1:7002"}, env)
	if err != nil {
		t.Fatal(err)
	}
	c := cfg.Core
	if c.Listen != "127.0.0.1:7002" {
		t.Errorf("listen %q: the flag must win", c.Listen)
	}
	if c.LogLevel != "debug" || c.Limits.MaxAttachmentBytes != 3<<20 {
		t.Errorf("log level %q, attachment size %d: the environment must win over the file", c.LogLevel, c.Limits.MaxAttachmentBytes)
	}
	if c.LogFormat != "json" {
		t.Errorf("log format %q: the file must win over the default", c.LogFormat)
	}
	if c.DataDir != "/tmp/from-env" || c.Limits.MaxTextBytes != 100 {
		t.Errorf("environment not applied: %q %d", c.DataDir, c.Limits.MaxTextBytes)
	}
	if c.Limits.MaxAttachments != 3 || c.Texts["en"]["web.title"] != "Contact" {
		t.Errorf("file not applied: %d %v", c.Limits.MaxAttachments, c.Texts)
	}
	if c.Limits.MaxRequestBytes == 0 {
		t.Error("defaults lost")
	}
	bad := filepath.Join(dir, "bad.toml")
	os.WriteFile(bad, []byte("listne = \"x\"\n"), 0o600)
	if _, err := loadGatewayConfig(defaultGatewayConfig(), []string{"--config", bad}, nil); err == nil || !strings.Contains(err.Error(), "listne") {
		t.Errorf("unknown key in file: %v", err)
	}
}
