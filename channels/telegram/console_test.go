package telegram

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/flarehq/flare/crypto"
	"github.com/flarehq/flare/internal/testkit"
)

func TestMain(m *testing.M) { os.Exit(testkit.Main(m)) }

// consoleShow checks the tip as a key-holder sees it with `flare console
// show`, and each attachment as `flare console save` writes it.
func consoleShow(t *testing.T, h *harness, tip *crypto.Tip, served map[string]string) {
	t.Helper()
	bin := testkit.FlareBinary(t)
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
