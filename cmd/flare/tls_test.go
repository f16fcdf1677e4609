package main

import (
	"bytes"
	"crypto/tls"
	"io"
	"mime/multipart"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/flarehq/flare/internal/sentinel"
	"github.com/flarehq/flare/internal/testkit"
)

// TestGatewayHTTPS runs "flare gateway --tls-cert --tls-key" as its own
// process: it serves HTTPS with the given pair, takes a tip over it, picks
// up a renewed certificate without a restart, and records nothing of the
// client address a proxy header claims (X-Forwarded-For and friends are
// neither trusted nor written anywhere).
func TestGatewayHTTPS(t *testing.T) {
	const claimedIP = "203.0.113.77"
	identity, recipient := keyholder(t, false)
	dataDir, certDir := t.TempDir(), t.TempDir()
	base := time.Now().Add(-time.Hour).Truncate(time.Second)
	first := testkit.WriteTLSCert(t, certDir, "first", 90*24*time.Hour, base)

	addr := freeAddr(t)
	logs := &testkit.Buffer{}
	cmd := exec.Command(flareBin, "gateway", "--listen", addr, "--log-level", "debug", "--recipient", recipient,
		"--data-dir", dataDir, "--tls-cert", first.CertFile, "--tls-key", first.KeyFile, "--admin-listen", freeAddr(t))
	cmd.Env = []string{"PATH=" + os.Getenv("PATH")}
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	g := &gatewayProc{cmd: cmd, addr: addr, logs: logs, done: make(chan struct{})}
	go func() { cmd.Wait(); close(g.done) }()
	t.Cleanup(g.stop)

	client := func(c *testkit.TLSCert) *http.Client {
		return &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: c.Pool}}}
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		// Health is on the admin listener; the intake's form answers
		// over HTTPS once the gateway is up.
		resp, err := client(first).Get("https://" + addr + "/")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no https intake: %v\n%s", err, logs.Bytes())
		}
		select {
		case <-g.done:
			t.Fatalf("gateway exited:\n%s", logs.Bytes())
		case <-time.After(100 * time.Millisecond):
		}
	}
	// Plain HTTP on the TLS port gets nowhere.
	if resp, err := http.Get("http://" + addr + "/healthz"); err == nil {
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode == 200 {
			t.Errorf("plain http served on the https listener: %s", body)
		}
	}

	// A tip over HTTPS, claiming a client address in every proxy header.
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	mw.WriteField("message", "a tip over https")
	mw.WriteField("kind", "distress")
	mw.Close()
	req, _ := http.NewRequest("POST", "https://"+addr+"/submit", &b)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("X-Forwarded-For", claimedIP+", 198.51.100.1")
	req.Header.Set("X-Real-IP", claimedIP)
	req.Header.Set("Forwarded", "for="+claimedIP)
	resp, err := client(first).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("status %d: %s", resp.StatusCode, page)
	}
	receipt := receiptOf(t, string(page))
	out := runFlare(t, "console", "show", receipt, "--identity", identity, "--queue", "file:"+filepath.Join(dataDir, "flare.db"))
	if !strings.Contains(out, "a tip over https") {
		t.Fatalf("tip not readable:\n%s", out)
	}
	if strings.Contains(out, claimedIP) {
		t.Errorf("the proxy header's address went into the sealed tip:\n%s", out)
	}

	// Renewal: new files, same paths; the next connection gets them.
	second := testkit.WriteTLSCert(t, certDir, "second", 90*24*time.Hour, base.Add(time.Minute))
	conn, err := tls.Dial("tcp", addr, &tls.Config{RootCAs: second.Pool, ServerName: "127.0.0.1"})
	if err != nil {
		t.Fatalf("after renewal: %v\n%s", err, logs.Bytes())
	}
	if cn := conn.ConnectionState().PeerCertificates[0].Subject.CommonName; cn != "second" {
		t.Errorf("after renewal served %q", cn)
	}
	conn.Close()
	// The child's stderr reaches the buffer through a pipe: give it a
	// moment.
	for deadline := time.Now().Add(10 * time.Second); !strings.Contains(string(logs.Bytes()), "tls certificate reloaded"); time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Error("reload not logged")
			break
		}
	}

	g.stop()
	findings, err := sentinel.Dir(dataDir, claimedIP)
	if err != nil {
		t.Fatal(err)
	}
	findings = append(findings, sentinel.Bytes(logs.Bytes(), "logs", claimedIP)...)
	for _, f := range findings {
		t.Errorf("client address recorded: %s", f)
	}
}

func TestGatewayTLSNeedsBoth(t *testing.T) {
	code, _, stderr := runApp(t, nil, "gateway", "--data-dir", t.TempDir(), "--recipient", recipientString(t), "--tls-cert", "cert.pem")
	if code != 2 || !strings.Contains(stderr, "tls_key") {
		t.Errorf("exit %d, %q", code, stderr)
	}
}
