package main

import (
	"bufio"
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

	cmd := exec.Command(flareBin, "console", "serve", "--identity", identity, "--queue", queueURL,
		"--recipients-file", rfile, "--name", "alice")
	stdout, _ := cmd.StdoutPipe()
	var stderr syncBuffer
	cmd.Stderr = &stderr
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
	var signIn string
	select {
	case signIn = <-urls:
	case err := <-done:
		t.Fatalf("console serve exited: %v\n%s", err, string(stderr.Bytes()))
	case <-time.After(30 * time.Second):
		t.Fatalf("no sign-in URL printed\n%s", string(stderr.Bytes()))
	}

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
