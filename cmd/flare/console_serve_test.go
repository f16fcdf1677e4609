package main

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"filippo.io/age"

	"github.com/flarehq/flare/internal/testkit"
)

// TestConsoleServe runs "flare console serve" as a process against the
// gateway's embedded store, signs in with the printed link and reads the
// inbox.
func TestConsoleServe(t *testing.T) {
	identity, recipient := keyholder(t, false)
	dataDir := t.TempDir()
	queueURL := "file:" + filepath.Join(dataDir, "flare.db")
	rfile := filepath.Join(t.TempDir(), "recipients.txt")
	if err := os.WriteFile(rfile, []byte("# key-holders\n"+recipient+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	g := startGateway(t, nil, "--recipient", recipient, "--queue", queueURL, "--data-dir", dataDir)
	if status, _ := postTip(t, "http://"+g.addr+"/", map[string]string{"message": "they took our passports", "kind": "distress"}, nil); status != 200 {
		t.Fatal(status)
	}

	signIn, stderr := startConsoleServe(t, "--identity", identity, "--queue", queueURL, "--recipients-file", rfile, "--name", "alice")

	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, Timeout: 20 * time.Second}
	resp, err := c.Get(signIn)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(body), "they took our passports") || !strings.Contains(string(body), "alice") {
		t.Fatalf("inbox: %s\n%s", resp.Status, body)
	}
	if strings.Contains(string(stderr.Bytes()), "passports") {
		t.Fatal("tip text in the console's log")
	}
}

func TestConsoleServeRefusesRemoteListen(t *testing.T) {
	identity, _ := keyholder(t, false)
	queueURL := "file:" + filepath.Join(t.TempDir(), "flare.db")
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"all interfaces", []string{"--listen", "0.0.0.0:0"}, "not a loopback address"},
		{"flag without TLS", []string{"--listen", "0.0.0.0:0", "--allow-remote"}, "not a loopback address"},
		{"half a TLS pair", []string{"--tls-cert", "c.pem"}, "both --tls-cert and --tls-key"},
		{"no identity", []string{"--identity", ""}, "--identity"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := append([]string{"console", "serve", "--identity", identity, "--queue", queueURL}, tt.args...)
			out, err := exec.Command(flareBin, args...).CombinedOutput()
			if err == nil || !strings.Contains(string(out), tt.want) {
				t.Fatalf("err %v, output:\n%s", err, out)
			}
		})
	}
}

// TestConsoleServePassphraseIdentity starts the console with a
// passphrase-protected identity file on a real terminal (a pty made by
// util-linux's script), types the passphrase at the prompt, and checks
// that the console then opens the tip.
func TestConsoleServePassphraseIdentity(t *testing.T) {
	scriptBin, err := exec.LookPath("script")
	if err != nil {
		t.Skip("util-linux script is not installed; it provides the terminal for the prompt")
	}
	plain, recipient := keyholder(t, false)
	idData, err := os.ReadFile(plain)
	if err != nil {
		t.Fatal(err)
	}
	const pass = "correct horse battery staple"
	sr, err := age.NewScryptRecipient(pass)
	if err != nil {
		t.Fatal(err)
	}
	sr.SetWorkFactor(10) // keep the test fast; the format is the same
	var protected bytes.Buffer
	w, err := age.Encrypt(&protected, sr)
	if err != nil {
		t.Fatal(err)
	}
	w.Write(idData)
	w.Close()
	idPath := filepath.Join(t.TempDir(), "identity.age")
	if err := os.WriteFile(idPath, protected.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	dataDir := t.TempDir()
	queueURL := "file:" + filepath.Join(dataDir, "flare.db")
	g := startGateway(t, nil, "--recipient", recipient, "--queue", queueURL, "--data-dir", dataDir)
	if status, _ := postTip(t, "http://"+g.addr+"/", map[string]string{"message": "locked in room 4"}, nil); status != 200 {
		t.Fatal(status)
	}

	cmdline := fmt.Sprintf("%s console serve --identity %s --queue %s --recipient %s", flareBin, idPath, queueURL, recipient)
	cmd := exec.Command(scriptBin, "-qfec", cmdline, "/dev/null")
	stdin, _ := cmd.StdinPipe()
	var out testkit.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
		cmd.Wait()
	})
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(string(out.Bytes()), "Passphrase") {
		if time.Now().After(deadline) {
			t.Fatalf("no passphrase prompt:\n%s", out.Bytes())
		}
		time.Sleep(20 * time.Millisecond)
	}
	io.WriteString(stdin, pass+"\r")
	re := regexp.MustCompile(`http://127\.0\.0\.1:\d+/login\?token=[A-Za-z0-9_-]+`)
	var link string
	for link == "" {
		if time.Now().After(deadline) {
			t.Fatalf("no sign-in link after the passphrase:\n%s", out.Bytes())
		}
		link = re.FindString(string(out.Bytes()))
		time.Sleep(20 * time.Millisecond)
	}
	if strings.Contains(string(out.Bytes()), pass) {
		t.Fatal("the passphrase was echoed on the terminal")
	}
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, Timeout: 20 * time.Second}
	resp, err := c.Get(link)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(body), "locked in room 4") {
		t.Fatalf("inbox after unlocking:\n%s", body)
	}
}

// startConsoleServe runs flare console serve with args until the test ends
// (stopped by its PID) and returns the sign-in URL it printed and what it
// writes to standard error.
func startConsoleServe(t *testing.T, args ...string) (string, *testkit.Buffer) {
	t.Helper()
	cmd := exec.Command(flareBin, append([]string{"console", "serve"}, args...)...)
	stdout, _ := cmd.StdoutPipe()
	stderr := &testkit.Buffer{}
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
		}
	})
	urls := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		re := regexp.MustCompile(`^http://127\.0\.0\.1:\d+/login\?token=\S+$`)
		for sc.Scan() {
			if re.MatchString(sc.Text()) {
				urls <- sc.Text()
			}
		}
		io.Copy(io.Discard, stdout)
	}()
	select {
	case signIn := <-urls:
		return signIn, stderr
	case err := <-done:
		t.Fatalf("console serve exited: %v\n%s", err, stderr.Bytes())
	case <-time.After(30 * time.Second):
		t.Fatalf("no sign-in URL printed\n%s", stderr.Bytes())
	}
	return "", nil
}
