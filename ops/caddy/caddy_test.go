// Package caddy tests ops/Caddyfile.example with a real Caddy: it
// publishes only the webhooks and hands the gateway no client address.
package caddy

import (
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	return port
}

// TestCaddyfileExample runs Caddy with the example (its site address
// swapped for a loopback port without TLS, its upstream for a recording
// server) and checks what reaches the gateway.
func TestCaddyfileExample(t *testing.T) {
	bin, err := exec.LookPath("caddy")
	if err != nil {
		t.Fatalf("caddy is needed (.ci/run installs it): %v", err)
	}
	var mu sync.Mutex
	var seen []http.Header
	var paths []string
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen = append(seen, r.Header.Clone())
		paths = append(paths, r.URL.Path)
		mu.Unlock()
		w.Write([]byte("ok"))
	}))
	defer upstream.Close()

	example, err := os.ReadFile("../Caddyfile.example")
	if err != nil {
		t.Fatal(err)
	}
	port := freePort(t)
	conf := string(example)
	if !strings.Contains(conf, "tips.example.org {") || !strings.Contains(conf, "reverse_proxy 127.0.0.1:8080") {
		t.Fatal("the example's site or upstream changed; update this test")
	}
	conf = strings.Replace(conf, "tips.example.org {", "http://127.0.0.1:"+port+" {", 1)
	conf = strings.Replace(conf, "reverse_proxy 127.0.0.1:8080", "reverse_proxy "+strings.TrimPrefix(upstream.URL, "http://"), 1)
	conf = "{\n\tadmin off\n}\n\n" + conf
	dir := t.TempDir()
	file := filepath.Join(dir, "Caddyfile")
	os.WriteFile(file, []byte(conf), 0o600)

	cmd := exec.Command(bin, "run", "--config", file, "--adapter", "caddyfile")
	cmd.Env = []string{"HOME=" + dir, "XDG_DATA_HOME=" + dir, "XDG_CONFIG_HOME=" + dir, "PATH=" + os.Getenv("PATH")}
	logs := &strings.Builder{}
	var logMu sync.Mutex
	cmd.Stdout = writerFunc(func(p []byte) { logMu.Lock(); logs.Write(p); logMu.Unlock() })
	cmd.Stderr = cmd.Stdout
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	base := "http://127.0.0.1:" + port
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		if c, err := net.Dial("tcp", "127.0.0.1:"+port); err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			logMu.Lock()
			t.Fatalf("caddy did not start:\n%s", logs.String())
		}
	}

	const claimed = "203.0.113.9"
	client := &http.Client{Timeout: 10 * time.Second}
	do := func(method, path string) int {
		req, _ := http.NewRequest(method, base+path, strings.NewReader("Body=help"))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("X-Forwarded-For", claimed)
		req.Header.Set("X-Real-IP", claimed)
		req.Header.Set("Forwarded", "for="+claimed)
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	for _, p := range []string{"/webhooks/twilio", "/webhooks/telegram", "/webhooks/vonage", "/webhooks/sms"} {
		if code := do("POST", p); code != 200 {
			t.Errorf("%s: status %d, want it proxied", p, code)
		}
	}
	for _, p := range []string{"/", "/healthz", "/submit", "/webhooks/other"} {
		if code := do("POST", p); code != 404 {
			t.Errorf("%s: status %d, want 404 (not published)", p, code)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if len(seen) != 4 {
		t.Fatalf("upstream saw %d requests (%v), want the 4 webhooks", len(seen), paths)
	}
	for i, h := range seen {
		for _, name := range []string{"X-Forwarded-For", "X-Real-Ip", "Forwarded", "Via"} {
			if v := h.Get(name); v != "" {
				t.Errorf("%s reached the gateway with %s: %q", paths[i], name, v)
			}
		}
		for name, vals := range h {
			for _, v := range vals {
				if strings.Contains(v, claimed) {
					t.Errorf("%s reached the gateway with a client address in %s: %q", paths[i], name, v)
				}
			}
		}
	}
}

type writerFunc func([]byte)

func (f writerFunc) Write(p []byte) (int, error) { f(p); return len(p), nil }
