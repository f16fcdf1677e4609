package telegram

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/flarehq/flare/crypto"
)

var (
	flareOnce sync.Once
	flareBin  string
	flareErr  error
)

// flare builds the flare command once per test run.
func flare(t *testing.T) string {
	t.Helper()
	flareOnce.Do(func() {
		dir, err := os.MkdirTemp("", "flare-telegram-test-")
		if err != nil {
			flareErr = err
			return
		}
		flareBin = filepath.Join(dir, "flare")
		out, err := exec.Command("go", "build", "-o", flareBin, "github.com/flarehq/flare/cmd/flare").CombinedOutput()
		if err != nil {
			flareErr = err
			t.Logf("go build: %s", out)
		}
	})
	if flareErr != nil {
		t.Fatalf("build flare: %v", flareErr)
	}
	return flareBin
}

func TestMain(m *testing.M) {
	code := m.Run()
	if flareBin != "" {
		os.RemoveAll(filepath.Dir(flareBin))
	}
	os.Exit(code)
}

// consoleShow checks the tip as a key-holder sees it with `flare console
// show`, and each attachment as `flare console save` writes it.
func consoleShow(t *testing.T, h *harness, tip *crypto.Tip, served map[string]string) {
	t.Helper()
	bin := flare(t)
	queueURL := "file:" + filepath.Join(h.dir, "flare.db")
	cmd := exec.Command(bin, "console", "show", tip.Receipt, "--identity", h.idFile, "--queue", queueURL)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir()}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("flare console show: %v\n%s", err, out)
	}
	show := string(out)
	for _, want := range []string{
		"Channel:   telegram",
		"Kind:      " + string(tip.Kind),
		"Language:  en",
		"chat " + tip.Sender.ChatID,
		"username " + tip.Sender.Username,
		"Reply to:  telegram " + tip.Sender.ChatID,
		"Location:  ",
		"SENTINEL-TEXT-4411",
		"photo caption SENTINEL-CAPTION",
		"sha256:" + served["image/jpeg"],
		"sha256:" + served["application/pdf"],
		"sha256:" + served["audio/ogg"],
		"sentinel-file.pdf",
	} {
		if !strings.Contains(show, want) {
			t.Errorf("flare console show lacks %q:\n%s", want, show)
		}
	}
	for i, a := range tip.Attachments {
		file := filepath.Join(t.TempDir(), "att")
		cmd := exec.Command(bin, "console", "save", tip.Receipt, string(rune('1'+i)), "-o", file, "--identity", h.idFile, "--queue", queueURL)
		cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir()}
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("flare console save: %v\n%s", err, out)
		}
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(data)
		if got := hex.EncodeToString(sum[:]); got != served[a.MediaType] {
			t.Errorf("saved attachment %d (%s): sha256 %s, served %s", i+1, a.MediaType, got, served[a.MediaType])
		}
	}
}
