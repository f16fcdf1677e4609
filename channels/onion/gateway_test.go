package onion

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"mime/multipart"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"filippo.io/age"

	"github.com/flarehq/flare/channels"
	"github.com/flarehq/flare/channels/catalog"
	"github.com/flarehq/flare/channels/web"
	"github.com/flarehq/flare/crypto"
	"github.com/flarehq/flare/gateway"
	"github.com/flarehq/flare/internal/testkit"
	"github.com/flarehq/flare/internal/testtor"
	"github.com/flarehq/flare/queue"
	"github.com/flarehq/flare/queue/backend"
)

// One private Tor network serves every test of this package; the flare
// binary the console tests build is removed after it.
func TestMain(m *testing.M) {
	code := testtor.Main(m)
	testkit.Cleanup()
	os.Exit(code)
}

// openQueue opens the embedded queue (SQLite) in dir, as flare gateway
// does by default.
func openQueue(t *testing.T, dir string) (queue.Queue, string) {
	t.Helper()
	u := "file:" + filepath.Join(dir, "flare.db")
	q, err := backend.Open(context.Background(), u)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { q.Close() })
	return q, u
}

// keyHolder is the test's key-holder: the gateway seals to recipient, the
// test opens with identities (kept in identityFile for flare console).
type keyHolder struct {
	recipient    age.Recipient
	identities   []age.Identity
	identityFile string
}

func newKeyHolder(t *testing.T) keyHolder {
	t.Helper()
	k := testkit.NewKeyHolder(t)
	return keyHolder{recipient: k.Recipient, identities: k.Identities, identityFile: k.File}
}

// testGateway is the gateway as flare gateway assembles it: the intake, the
// plain web channel and the onion channel publishing the web intake, all
// run by gateway.Server, whose /healthz the tests read.
type testGateway struct {
	ch       *Channel
	baseURL  string // the gateway's own listener: the plain web intake
	adminURL string // its admin listener: /healthz
	logs     *testkit.Buffer
	cancel   context.CancelFunc
	done     chan error
	once     sync.Once
}

func startGateway(t *testing.T, kh keyHolder, q queue.Queue, cfg Config) *testGateway {
	t.Helper()
	logs := &testkit.Buffer{}
	lg := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	sealer, err := crypto.NewSealer(kh.recipient)
	if err != nil {
		t.Fatal(err)
	}
	intake, err := gateway.NewIntake(gateway.IntakeConfig{Sealer: sealer, Queue: q, Log: lg})
	if err != nil {
		t.Fatal(err)
	}
	deps := channels.Deps{Sink: intake, Queue: q, Catalog: catalog.New(nil), Log: lg}
	cfg.Handler = web.New("onion", deps).Handler()
	if cfg.MinBackoff == 0 {
		cfg.MinBackoff = 500 * time.Millisecond
	}
	ch, err := New(cfg, deps)
	if err != nil {
		t.Fatal(err)
	}
	srv := gateway.NewServer(q, lg, web.New("web", deps), ch)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	admin := httptest.NewServer(srv.AdminHandler(nil))
	t.Cleanup(admin.Close)
	g := &testGateway{ch: ch, baseURL: "http://" + ln.Addr().String(), adminURL: admin.URL, logs: logs, cancel: cancel, done: make(chan error, 1)}
	go func() { g.done <- srv.Run(ctx, ln) }()
	t.Cleanup(func() {
		g.stop(t)
		if t.Failed() {
			t.Logf("gateway log:\n%s", logs.String())
		}
	})
	return g
}

// stop stops the gateway and waits for it; safe to call twice.
func (g *testGateway) stop(t *testing.T) {
	t.Helper()
	g.once.Do(func() {
		g.cancel()
		select {
		case err := <-g.done:
			if err != nil {
				t.Errorf("gateway: %v", err)
			}
		case <-time.After(30 * time.Second):
			t.Error("gateway did not stop within 30 s")
		}
	})
}

// waitPublished waits until the onion channel reports its descriptor
// uploaded and returns how long that took.
func (g *testGateway) waitPublished(t *testing.T, timeout time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	deadline := time.Now().Add(timeout)
	for {
		if h := g.ch.Health(); h.OK {
			return time.Since(start)
		}
		if time.Now().After(deadline) {
			t.Fatalf("onion not published within %s; health %+v", timeout, g.ch.Health())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// health reads the gateway's /healthz.
func (g *testGateway) health(t *testing.T) (int, map[string]channels.Health) {
	t.Helper()
	resp, err := http.Get(g.adminURL + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var rep struct {
		Channels map[string]channels.Health `json:"channels"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&rep); err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, rep.Channels
}

// onionClient reaches onion services through the network's client tor.
func onionClient(n *testtor.Network) *http.Client {
	proxy, _ := url.Parse("socks5h://" + n.SocksAddr())
	return &http.Client{
		Transport: &http.Transport{Proxy: http.ProxyURL(proxy), DisableKeepAlives: true},
		Timeout:   60 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
}

// waitReachable GETs http://addr/ until it answers, telling the client tor
// to forget failed attempts between tries (a service that just moved to
// new introduction points is otherwise avoided for a while). It returns
// the response to the first successful GET and how long it took.
func waitReachable(t *testing.T, n *testtor.Network, addr string, timeout time.Duration) (*http.Response, []byte, time.Duration) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	start := time.Now()
	client := onionClient(n)
	for attempt := 1; ; attempt++ {
		req, _ := http.NewRequestWithContext(ctx, "GET", "http://"+addr+"/", nil)
		resp, err := client.Do(req)
		if err == nil {
			body, rerr := io.ReadAll(resp.Body)
			resp.Body.Close()
			if rerr == nil {
				return resp, body, time.Since(start)
			}
			err = rerr
		}
		if ctx.Err() != nil {
			t.Fatalf("%s not reachable within %s (%d attempts): %v", addr, timeout, attempt, err)
		}
		n.NewNym(ctx)
		time.Sleep(time.Second)
	}
}

// submitTip POSTs a tip with one attachment to http://addr/submit as a
// script would, and returns the receipt code.
func submitTip(t *testing.T, n *testtor.Network, addr, text string, file []byte) string {
	t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	mw.WriteField("kind", "evidence")
	mw.WriteField("message", text)
	fw, _ := mw.CreateFormFile("file", "evidence.txt")
	fw.Write(file)
	mw.Close()
	req, _ := http.NewRequest("POST", "http://"+addr+"/submit", &body)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Accept", "application/json")
	resp, err := onionClient(n).Do(req)
	if err != nil {
		t.Fatalf("POST /submit over Tor: %v", err)
	}
	defer resp.Body.Close()
	var got struct{ Status, Receipt, Error string }
	if err := json.NewDecoder(resp.Body).Decode(&got); err != nil {
		t.Fatalf("POST /submit: status %d, undecodable body: %v", resp.StatusCode, err)
	}
	if resp.StatusCode != http.StatusOK || got.Status != "received" || got.Receipt == "" {
		t.Fatalf("POST /submit: status %d, %+v", resp.StatusCode, got)
	}
	return got.Receipt
}

// findTip opens every queued tip and returns the one with receipt.
func findTip(t *testing.T, q queue.Queue, kh keyHolder, receipt string) *crypto.Tip {
	t.Helper()
	msgs, err := q.List(context.Background(), queue.StreamTips, "", 1000)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range msgs {
		tip, err := crypto.OpenTip(m.Body, kh.identities...)
		if err != nil {
			t.Fatalf("queued message %s does not open: %v", m.ID, err)
		}
		if tip.Receipt == receipt {
			return tip
		}
	}
	t.Fatalf("no queued tip with receipt %s among %d", receipt, len(msgs))
	return nil
}

// checkTip checks a tip arrived whole: text, channel and the attachment's
// bytes, decrypted with the key-holder's identity.
func checkTip(t *testing.T, q queue.Queue, kh keyHolder, tip *crypto.Tip, text string, file []byte) {
	t.Helper()
	if tip.Text != text || tip.Channel != "onion" || tip.Kind != crypto.KindEvidence {
		t.Fatalf("tip text %q channel %q kind %q", tip.Text, tip.Channel, tip.Kind)
	}
	if len(tip.Attachments) != 1 {
		t.Fatalf("tip has %d attachments, want 1", len(tip.Attachments))
	}
	r, err := crypto.OpenAttachment(context.Background(), q, tip.Attachments[0], kh.identities...)
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(r)
	if err != nil {
		t.Fatalf("read attachment: %v", err)
	}
	if !bytes.Equal(got, file) {
		t.Fatalf("attachment is %d bytes, differs from the %d sent", len(got), len(file))
	}
}

// consoleShow runs "flare console show RECEIPT" as the key-holder and
// checks it prints the tip whole: text, channel, and the attachment's name,
// size and hash.
func consoleShow(t *testing.T, kh keyHolder, queueURL, receipt, text string, file []byte) {
	t.Helper()
	cmd := exec.Command(testkit.FlareBinary(t), "console", "show", receipt, "--identity", kh.identityFile, "--queue", queueURL)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("flare console show %s: %v\n%s", receipt, err, stderr.String())
	}
	sum := sha256.Sum256(file)
	for _, want := range []string{
		"Receipt:   " + receipt,
		"Channel:   onion",
		"Kind:      evidence",
		text,
		"evidence.txt",
		fmt.Sprintf("  %d bytes  sha256:%s", len(file), hex.EncodeToString(sum[:])),
	} {
		if !strings.Contains(string(out), want) {
			t.Errorf("flare console show lacks %q:\n%s", want, out)
		}
	}
}

// assertNoSentinel checks nothing the source wrote is in the gateway's
// logs or its data directory outside ciphertext.
func assertNoSentinel(t *testing.T, sentinel string, logs string, dataDir string) {
	t.Helper()
	if strings.Contains(logs, sentinel) {
		t.Errorf("sentinel %q found in the gateway log", sentinel)
	}
	filepath.Walk(dataDir, func(path string, info os.FileInfo, err error) error {
		if err != nil || info.IsDir() || !info.Mode().IsRegular() {
			return nil
		}
		if b, _ := os.ReadFile(path); bytes.Contains(b, []byte(sentinel)) {
			t.Errorf("sentinel %q found in %s", sentinel, path)
		}
		return nil
	})
}

func joinTorrc(t *testing.T, n *testtor.Network) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "network.torrc")
	if err := os.WriteFile(path, []byte(n.JoinTorrc()), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func attachment(seed string) []byte {
	var b bytes.Buffer
	for i := 0; b.Len() < 200<<10; i++ {
		fmt.Fprintf(&b, "%s line %d of the evidence\n", seed, i)
	}
	return b.Bytes()
}
