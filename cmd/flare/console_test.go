package main

import (
	"bytes"
	"context"

	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/flarehq/flare/crypto"
	"github.com/flarehq/flare/gateway"
	"github.com/flarehq/flare/internal/testkit"
	"github.com/flarehq/flare/queue"
	"github.com/flarehq/flare/queue/backend"
)

// seedQueue opens a new embedded store, lets fill put tips in it (through
// the gateway's intake, or sealed directly as someone with write access to
// the queue could), closes it and returns its URL.
func seedQueue(t *testing.T, fill func(q queue.Queue, in *gateway.Intake, s *crypto.Sealer)) (queueURL string, kh testkit.KeyHolder) {
	t.Helper()
	kh = testkit.NewKeyHolder(t)
	queueURL = "file:" + filepath.Join(t.TempDir(), "flare.db")
	q, err := backend.Open(context.Background(), queueURL)
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	s, err := crypto.NewSealer(kh.Recipient)
	if err != nil {
		t.Fatal(err)
	}
	in, err := gateway.NewIntake(gateway.IntakeConfig{Sealer: s, Queue: q, Log: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	fill(q, in, s)
	return queueURL, kh
}

// submitTip sends text and one attachment through the intake and returns
// the tip's queue id.
func submitTip(t *testing.T, in *gateway.Intake, text string, file []byte) string {
	t.Helper()
	ctx := context.Background()
	d := in.NewDraft("web")
	d.Tip().Text = text
	if file != nil {
		if _, err := d.Attach(ctx, "evidence.bin", "application/octet-stream", bytes.NewReader(file)); err != nil {
			t.Fatal(err)
		}
	}
	rc, err := d.Submit(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return rc.QueueID
}

// TestConsoleSaveKeepsExistingFile is finding 10: save refused to
// overwrite a file and then deleted it.
func TestConsoleSaveKeepsExistingFile(t *testing.T) {
	var qid string
	queueURL, kh := seedQueue(t, func(q queue.Queue, in *gateway.Intake, s *crypto.Sealer) {
		qid = submitTip(t, in, "with a file", []byte("attachment contents"))
	})
	out := filepath.Join(t.TempDir(), "precious.txt")
	const precious = "the key-holder's own file"
	if err := os.WriteFile(out, []byte(precious), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(flareBin, "console", "save", qid, "1", "-o", out, "--identity", kh.File, "--queue", queueURL)
	msg, err := cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(msg), "refusing to overwrite") {
		t.Fatalf("save over an existing file: err %v, output %s", err, msg)
	}
	got, err := os.ReadFile(out)
	if err != nil || string(got) != precious {
		t.Fatalf("existing file after the refusal: %q, %v", got, err)
	}
	// Saving to a new file still works.
	fresh := filepath.Join(t.TempDir(), "new.bin")
	runFlare(t, "console", "save", qid, "1", "-o", fresh, "--identity", kh.File, "--queue", queueURL)
	if got, _ := os.ReadFile(fresh); string(got) != "attachment contents" {
		t.Fatalf("saved %q", got)
	}
}
