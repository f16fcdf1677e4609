package main

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestBackupRestoreUnderLoad is issue 16's test 4: "flare backup" while a
// steady stream of tips arrives, then "flare restore" into an empty data
// directory on another "machine": every tip acknowledged before the backup
// began is there, the onion key and address and the hash key are the same,
// and the archive opens only with a key-holder's identity.
func TestBackupRestoreUnderLoad(t *testing.T) {
	identity, recipient := keyholder(t, false)
	dataDir := t.TempDir()
	// The onion service's key and address as the gateway keeps them
	// (DATA-DIR/onion), and the hash key.
	onionKey := make([]byte, 96)
	rand.Read(onionKey)
	os.Mkdir(filepath.Join(dataDir, "onion"), 0o700)
	os.WriteFile(filepath.Join(dataDir, "onion", "hs_ed25519_secret_key"), onionKey, 0o600)
	address := strings.Repeat("b", 56) + ".onion\n"
	os.WriteFile(filepath.Join(dataDir, "onion", "hostname"), []byte(address), 0o600)

	g := startGateway(t, nil, "--recipient", recipient, "--data-dir", dataDir)
	hashKey, err := os.ReadFile(filepath.Join(dataDir, "hash.key"))
	if err != nil {
		t.Fatal(err)
	}

	// A steady stream of submissions, each recorded once acknowledged.
	var mu sync.Mutex
	var acked []string
	stop := make(chan struct{})
	var wg sync.WaitGroup
	stopOnce := sync.OnceFunc(func() { close(stop); wg.Wait() })
	t.Cleanup(stopOnce)
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			text := fmt.Sprintf("steady tip %04d", i)
			var b bytes.Buffer
			mw := multipart.NewWriter(&b)
			mw.WriteField("message", text)
			mw.WriteField("kind", "other")
			mw.Close()
			resp, err := http.Post("http://"+g.addr+"/submit", mw.FormDataContentType(), &b)
			if err != nil {
				time.Sleep(10 * time.Millisecond)
				continue
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == 200 {
				mu.Lock()
				acked = append(acked, text)
				mu.Unlock()
			}
			time.Sleep(10 * time.Millisecond)
		}
	}()
	waitFor := func(n int) {
		for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
			mu.Lock()
			got := len(acked)
			mu.Unlock()
			if got >= n {
				return
			}
		}
		t.Fatalf("fewer than %d tips acknowledged", n)
	}
	waitFor(20)
	mu.Lock()
	before := append([]string(nil), acked...)
	mu.Unlock()

	archive := filepath.Join(t.TempDir(), "flare.backup.age")
	var stderr bytes.Buffer
	cmd := exec.Command(flareBin, "backup", "-o", archive, "--data-dir", dataDir, "--recipient", recipient)
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("backup: %v\n%s", err, stderr.String())
	}
	mu.Lock()
	during := len(acked) - len(before)
	mu.Unlock()
	waitFor(len(before) + during + 5) // the gateway kept taking tips
	stopOnce()
	t.Logf("%d tips acknowledged before the backup, %d while it ran", len(before), during)

	// The archive is age, and opens with the stock age tool and the
	// key-holder's identity only.
	raw, _ := os.ReadFile(archive)
	if !bytes.HasPrefix(raw, []byte("age-encryption.org/v1")) {
		t.Fatal("the archive is not age-encrypted")
	}
	if fi, _ := os.Stat(archive); fi.Mode().Perm() != 0o600 {
		t.Errorf("archive mode %o", fi.Mode().Perm())
	}
	if bytes.Contains(raw, onionKey[:16]) || bytes.Contains(raw, hashKey[:16]) {
		t.Fatal("a key is readable in the archive")
	}
	if out, err := exec.Command("age", "-d", "-i", identity, archive).Output(); err != nil || !bytes.Contains(out, []byte("FLARE-BACKUP")) {
		t.Errorf("stock age cannot open the archive with the identity: %v", err)
	}
	stranger, _ := keyholder(t, false)
	code, _, errOut := runApp(t, nil, "restore", archive, "--identity", stranger, "--data-dir", filepath.Join(t.TempDir(), "x"))
	if code == 0 || !strings.Contains(errOut, "key-holder") {
		t.Errorf("restore with a stranger's identity: exit %d, %q", code, errOut)
	}

	// Another machine: an empty data directory.
	newDir := filepath.Join(t.TempDir(), "flare")
	code, _, errOut = runApp(t, nil, "restore", archive, "--identity", identity, "--data-dir", newDir)
	if code != 0 {
		t.Fatalf("restore: exit %d: %s", code, errOut)
	}
	for name, want := range map[string][]byte{"onion/hs_ed25519_secret_key": onionKey, "onion/hostname": []byte(address), "hash.key": hashKey} {
		got, err := os.ReadFile(filepath.Join(newDir, name))
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("%s not restored as it was: %v", name, err)
		}
		if fi, err := os.Stat(filepath.Join(newDir, name)); err == nil && fi.Mode().Perm() != 0o600 {
			t.Errorf("%s restored with mode %o", name, fi.Mode().Perm())
		}
	}
	listing := runFlare(t, "console", "list", "--json", "--identity", identity, "--queue", "file:"+filepath.Join(newDir, "flare.db"))
	var rows []listRow
	if err := json.Unmarshal([]byte(listing), &rows); err != nil {
		t.Fatalf("list: %v\n%s", err, listing)
	}
	have := map[string]bool{}
	for _, r := range rows {
		if r.Error != "" {
			t.Errorf("restored tip %s does not open: %s", r.ID, r.Error)
		}
		have[strings.TrimSpace(r.Preview)] = true
	}
	for _, text := range before {
		if !have[text] {
			t.Errorf("acknowledged tip %q lost in the backup", text)
		}
	}
	if len(rows) > len(before)+during {
		t.Errorf("restored %d tips, more than were ever acknowledged by the end of the backup (%d)", len(rows), len(before)+during)
	}

	// A restore never lands on existing state.
	code, _, errOut = runApp(t, nil, "restore", archive, "--identity", identity, "--data-dir", newDir)
	if code == 0 || !strings.Contains(errOut, "not empty") {
		t.Errorf("restore over a restored directory: exit %d, %q", code, errOut)
	}
}
