package main

import (
	"bytes"
	"context"
	"io"
	"mime/multipart"
	"net/http"
	"net/textproto"

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

// hostilePayload is what the outside review sent as a form's lang field
// and an attachment's media type (finding 4): an OSC that retitles the
// terminal, an SGR that turns it red, a one-byte CSI (C1 U+009B) and a
// right-to-left override.
const hostilePayload = "en-\x1b]0;pwned\x07\x1b[31mred\u009b2J\u202eexe.pdf"

// controlAt returns the index of the first control character in s that a
// terminal acts on (C0 but newline and tab, DEL, C1, bidi), or -1.
func controlAt(s string) int {
	return strings.IndexFunc(s, func(r rune) bool {
		return r < 0x20 && r != '\n' && r != '\t' || r == 0x7f || 0x80 <= r && r <= 0x9f ||
			r == 0x061c || r == 0x200e || r == 0x200f || 0x202a <= r && r <= 0x202e || 0x2066 <= r && r <= 0x2069
	})
}

// TestConsoleOutputHasNoControls is finding 4 on the command line: a tip
// carrying the payload in every field (sealed straight into the queue, as
// someone with write access can, past the gateway's checks) prints
// without any of it reaching the terminal, in list, show and --json.
func TestConsoleOutputHasNoControls(t *testing.T) {
	var qid string
	queueURL, kh := seedQueue(t, func(q queue.Queue, in *gateway.Intake, s *crypto.Sealer) {
		ctx := context.Background()
		ref, err := s.SealAttachment(ctx, q, crypto.AttachmentInfo{ID: "att-x", Name: "f" + hostilePayload, MediaType: hostilePayload}, strings.NewReader("data"))
		if err != nil {
			t.Fatal(err)
		}
		sealed, err := s.SealTip(&crypto.Tip{ID: "t" + hostilePayload, Receipt: "ABCD-EFGH", Channel: "web" + hostilePayload,
			Kind: crypto.KindTip, Language: hostilePayload, Text: "TEXT " + hostilePayload + "\nline two",
			Fields: map[string]string{"place" + hostilePayload: hostilePayload}, People: []string{hostilePayload},
			Sender:      &crypto.Sender{Phone: hostilePayload, Name: hostilePayload},
			Reply:       &crypto.ReplyAddress{Channel: "sms" + hostilePayload, Address: hostilePayload},
			Location:    &crypto.Location{Place: hostilePayload},
			Attachments: []crypto.AttachmentRef{ref}})
		if err != nil {
			t.Fatal(err)
		}
		if qid, err = q.Enqueue(ctx, queue.StreamTips, sealed); err != nil {
			t.Fatal(err)
		}
	})
	for _, args := range [][]string{{"show", qid}, {"list"}, {"show", qid, "--json"}, {"list", "--json"}} {
		cmd := exec.Command(flareBin, append(append([]string{"console"}, args...), "--identity", kh.File, "--queue", queueURL)...)
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		if err := cmd.Run(); err != nil {
			t.Fatalf("%v: %v\n%s", args, err, stderr.String())
		}
		out := stdout.String() + stderr.String()
		if !strings.Contains(out, "red") {
			t.Fatalf("%v: the tip was not printed:\n%s", args, out)
		}
		if i := controlAt(out); i >= 0 {
			t.Errorf("%v prints control %U: %q", args, []rune(out[i:])[0], out[max(0, i-30):min(len(out), i+30)])
		}
	}
}

// TestHostileFormFieldsNeverReachTheTerminal is finding 4 as the review
// showed it: a form posted to the gateway with the payload as lang and
// C1 and bidi controls in the file's media type, then read with flare
// console show.
func TestHostileFormFieldsNeverReachTheTerminal(t *testing.T) {
	identity, recipient := keyholder(t, false)
	dataDir := t.TempDir()
	queueURL := "file:" + filepath.Join(dataDir, "flare.db")
	g := startGateway(t, nil, "--recipient", recipient, "--queue", queueURL, "--data-dir", dataDir)
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	mw.WriteField("message", "hostile fields")
	mw.WriteField("lang", hostilePayload)
	h := textproto.MIMEHeader{}
	h.Set("Content-Disposition", `form-data; name="file"; filename="f.txt"`)
	// A header cannot carry C0 controls; the review's media type carried
	// the C1 CSI and the bidi override.
	h.Set("Content-Type", "image/png\u009b2J\u202egnp.exe")
	fw, _ := mw.CreatePart(h)
	fw.Write([]byte("file contents"))
	mw.Close()
	resp, err := http.Post("http://"+g.addr+"/submit", mw.FormDataContentType(), &b)
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d: %s", resp.StatusCode, page)
	}
	out := runFlare(t, "console", "show", receiptOf(t, string(page)), "--identity", identity, "--queue", queueURL)
	if i := controlAt(out); i >= 0 {
		t.Fatalf("show prints control %U: %q", []rune(out[i:])[0], out)
	}
	if strings.Contains(out, "pwned") || strings.Contains(out, "gnp.exe") || !strings.Contains(out, "application/octet-stream") {
		t.Fatalf("hostile lang or media type stored:\n%s", out)
	}
}
