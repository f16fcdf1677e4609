package main

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"mime/multipart"
	"net"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/flarehq/flare/internal/testkit"
)

// gatewayProc is "flare gateway" running as its own process.
type gatewayProc struct {
	cmd   *exec.Cmd
	addr  string
	admin string // the admin listener: /healthz, /readyz, /metrics
	logs  *testkit.Buffer
	done  chan struct{}
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// startGateway runs the gateway with args (plus --listen and
// --admin-listen) and waits for its health endpoint. It is stopped by PID
// when the test ends.
func startGateway(t *testing.T, env []string, args ...string) *gatewayProc {
	t.Helper()
	addr, admin := freeAddr(t), freeAddr(t)
	g := &gatewayProc{addr: addr, admin: admin, logs: &testkit.Buffer{}, done: make(chan struct{})}
	g.cmd = exec.Command(flareBin, append([]string{"gateway", "--listen", addr, "--admin-listen", admin, "--log-level", "debug"}, args...)...)
	g.cmd.Env = append(os.Environ(), env...)
	g.cmd.Stdout = g.logs
	g.cmd.Stderr = g.logs
	if err := g.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { g.cmd.Wait(); close(g.done) }()
	t.Cleanup(g.stop)
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := http.Get("http://" + admin + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return g
			}
		}
		select {
		case <-g.done:
			t.Fatalf("gateway exited:\n%s", g.logs.Bytes())
		case <-time.After(50 * time.Millisecond):
		}
	}
	t.Fatalf("gateway not healthy:\n%s", g.logs.Bytes())
	return nil
}

func (g *gatewayProc) stop() {
	select {
	case <-g.done:
		return
	default:
	}
	g.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-g.done:
	case <-time.After(15 * time.Second):
		g.cmd.Process.Kill()
		<-g.done
	}
}

// postTip posts a multipart form to url, as the form page at url does
// (with its single-use token, and kind "tip" unless fields choose one),
// and returns the status and body.
func postTip(t *testing.T, url string, fields map[string]string, files map[string][]byte) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	form, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	token := regexp.MustCompile(`name="token" value="([^"]+)"`).FindSubmatch(form)
	if token == nil {
		t.Fatalf("no form token at %s:\n%s", url, form)
	}
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	mw.WriteField("token", string(token[1]))
	if _, ok := fields["kind"]; !ok {
		mw.WriteField("kind", "tip")
	}
	for k, v := range fields {
		mw.WriteField(k, v)
	}
	for name, data := range files {
		w, _ := mw.CreateFormFile("file", name)
		w.Write(data)
	}
	mw.Close()
	resp, err = http.Post(url, mw.FormDataContentType(), &b)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

var receiptRE = regexp.MustCompile(`<code>([A-Z0-9]{4}-[A-Z0-9]{4})</code>`)

func receiptOf(t *testing.T, page string) string {
	t.Helper()
	m := receiptRE.FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no receipt code in:\n%s", page)
	}
	return m[1]
}

// runFlare runs the binary and returns its stdout; it fails the test on a
// non-zero exit.
func runFlare(t *testing.T, args ...string) string {
	t.Helper()
	cmd := exec.Command(flareBin, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("flare %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return string(out)
}

func sha(data []byte) string {
	s := sha256.Sum256(data)
	return hex.EncodeToString(s[:])
}

// TestDemoFormToConsole is issue 2's first promise: submit on the demo's
// form, run the console command the demo printed, see the same tip.
func TestDemoFormToConsole(t *testing.T) {
	dir := t.TempDir()
	cmd := exec.Command(flareBin, "demo", "--listen", "127.0.0.1:0", "--dir", dir)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	logs := &testkit.Buffer{}
	cmd.Stderr = logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		cmd.Process.Signal(syscall.SIGTERM)
		cmd.Wait()
	}()
	var intake, show string
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if u, ok := strings.CutPrefix(line, "Send a tip:"); ok {
			intake = strings.TrimSpace(u)
		}
		if strings.Contains(line, " console show ID ") {
			show = line
		}
		if strings.HasPrefix(line, "Stop with Ctrl-C") {
			break
		}
	}
	go io.Copy(io.Discard, stdout)
	if intake == "" || show == "" {
		t.Fatalf("demo did not print the intake URL and console command; logs:\n%s", logs.Bytes())
	}
	file := bytes.Repeat([]byte("passport photo "), 5000)
	status, page := postTip(t, intake, map[string]string{"message": "They moved us to building C", "kind": "distress"}, map[string][]byte{"passport.jpg": file})
	if status != 200 {
		t.Fatalf("form: status %d\n%s", status, page)
	}
	receipt := receiptOf(t, page)

	args := strings.Fields(strings.Replace(show, " ID ", " "+receipt+" ", 1))
	out := runFlare(t, args[1:]...)
	for _, want := range []string{"They moved us to building C", "distress", "passport.jpg", fmt.Sprintf("%d bytes", len(file)), "sha256:" + sha(file), receipt} {
		if !strings.Contains(out, want) {
			t.Errorf("console show output lacks %q:\n%s", want, out)
		}
	}
	list := runFlare(t, append(strings.Fields(strings.Replace(show, " show ID ", " list ", 1))[1:], "--json")...)
	if !strings.Contains(list, `"kind": "distress"`) {
		t.Errorf("console list --json:\n%s", list)
	}
}
