package onion

import (
	"context"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/flarehq/flare/internal/testtor"
)

// These tests run a tor with DisableNetwork 1: they check what the control
// port and tor's own key files say, without a Tor network.

func discardLog() *slog.Logger { return slog.New(slog.DiscardHandler) }

// TestAddOnionAcceptedByTor checks, against the installed tor, that the
// channel's ADD_ONION (its key, the PoW defence and stream limits) is
// accepted and published under the address the channel computed itself.
func TestAddOnionAcceptedByTor(t *testing.T) {
	tor := testtor.StartOffline(t)
	key, err := newServiceKey()
	if err != nil {
		t.Fatal(err)
	}
	cfg := Config{ControlAddr: tor.ControlAddr, ControlCookie: tor.CookiePath}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	tc, err := attachTor(ctx, cfg, discardLog())
	if err != nil {
		t.Fatal(err)
	}
	defer tc.close()
	// tor checks the keywords: a bad value is refused, so acceptance
	// below means the defence is on.
	if _, err := addOnion(tc.conn, key, []string{"PoWDefensesEnabled=2", "Port=80,127.0.0.1:8080"}); err == nil || !strings.Contains(err.Error(), "PoWDefensesEnabled") {
		t.Fatalf("tor took PoWDefensesEnabled=2: err = %v", err)
	}
	c := &Channel{cfg: Config{PoW: true, PoWQueueRate: 100, PoWQueueBurst: 1000, MaxStreams: 8}}
	id, err := addOnion(tc.conn, key, c.onionOptions(8080))
	if err != nil {
		t.Fatalf("ADD_ONION with the channel's options: %v", err)
	}
	if id != key.id {
		t.Fatalf("tor published %s, the channel computed %s", id, key.id)
	}
	resp, err := tc.conn.SendRequest("GETINFO onions/current")
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(resp.Data, " "); !strings.Contains(got, key.id) {
		t.Fatalf("onions/current = %q, want it to list %s", got, key.id)
	}
}

func TestControlAuthentication(t *testing.T) {
	out, err := exec.Command("tor", "--quiet", "--hash-password", "correct horse").Output()
	if err != nil {
		t.Skipf("tor --hash-password: %v", err)
	}
	hash := strings.TrimSpace(string(out))
	tor := testtor.StartOffline(t, "HashedControlPassword "+hash)
	wrongCookie := filepath.Join(t.TempDir(), "cookie")
	os.WriteFile(wrongCookie, []byte(strings.Repeat("x", 32)), 0o600)
	shortCookie := filepath.Join(t.TempDir(), "short")
	os.WriteFile(shortCookie, []byte("xx"), 0o600)

	tests := []struct {
		name string
		cfg  Config
		want string // "" for success
	}{
		{"cookie from PROTOCOLINFO", Config{}, ""},
		{"cookie path given", Config{ControlCookie: tor.CookiePath}, ""},
		{"password", Config{ControlPassword: "correct horse"}, ""},
		{"wrong password", Config{ControlPassword: "battery staple"}, "authentication refused"},
		{"wrong cookie", Config{ControlCookie: wrongCookie}, "does not know the cookie"},
		{"short cookie", Config{ControlCookie: shortCookie}, "want 32"},
		{"missing cookie", Config{ControlCookie: filepath.Join(t.TempDir(), "none")}, "control cookie"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.cfg.ControlAddr = tor.ControlAddr
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			tc, err := attachTor(ctx, tt.cfg, discardLog())
			if tt.want == "" {
				if err != nil {
					t.Fatalf("attach: %v", err)
				}
				defer tc.close()
				if _, err := tc.conn.SendRequest("GETINFO version"); err != nil {
					t.Fatalf("not authenticated: %v", err)
				}
				return
			}
			if err == nil {
				tc.close()
				t.Fatalf("attach succeeded, want an error mentioning %q", tt.want)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want it to mention %q", err, tt.want)
			}
		})
	}
}

// TestKeyFilesInteroperate checks the key format both ways against tor
// itself: a key tor made for a HiddenServiceDir imports with tor's
// address, and a key the channel made, put in a HiddenServiceDir, makes
// tor announce the channel's address.
func TestKeyFilesInteroperate(t *testing.T) {
	// tor's key, imported.
	hsDir := filepath.Join(t.TempDir(), "hs")
	testtor.StartOffline(t, "HiddenServiceDir "+hsDir, "HiddenServicePort 80 127.0.0.1:9")
	torHost := waitFile(t, filepath.Join(hsDir, "hostname"))
	onionDir := filepath.Join(t.TempDir(), "onion")
	k, _, err := loadOrCreateKey(onionDir, filepath.Join(hsDir, keyFile))
	if err != nil {
		t.Fatal(err)
	}
	if k.Address() != strings.TrimSpace(torHost) {
		t.Fatalf("imported tor's key as %s, tor says %s", k.Address(), torHost)
	}

	// Our key, used by tor.
	ours, _, err := loadOrCreateKey(filepath.Join(t.TempDir(), "onion"), "")
	if err != nil {
		t.Fatal(err)
	}
	hsDir2 := filepath.Join(t.TempDir(), "hs2")
	os.MkdirAll(hsDir2, 0o700)
	if err := os.WriteFile(filepath.Join(hsDir2, keyFile), marshalTorKey(ours), 0o600); err != nil {
		t.Fatal(err)
	}
	testtor.StartOffline(t, "HiddenServiceDir "+hsDir2, "HiddenServicePort 80 127.0.0.1:9")
	if got := strings.TrimSpace(waitFile(t, filepath.Join(hsDir2, "hostname"))); got != ours.Address() {
		t.Fatalf("tor announces %s for our key, we say %s", got, ours.Address())
	}
}

func waitFile(t *testing.T, path string) string {
	t.Helper()
	for range 100 {
		if b, err := os.ReadFile(path); err == nil && len(b) > 0 {
			return string(b)
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("%s never appeared", path)
	return ""
}

// TestAttachUnixSocket attaches over a control socket, as to Debian's
// tor@default (/run/tor/control).
func TestAttachUnixSocket(t *testing.T) {
	dir, err := os.MkdirTemp("", "ctl")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	os.Chmod(dir, 0o700)
	sock := filepath.Join(dir, "control")
	tor := testtor.StartOffline(t, "ControlSocket "+sock)
	for range 100 {
		if _, err := os.Stat(sock); err == nil {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	tc, err := attachTor(ctx, Config{ControlAddr: "unix:" + sock, ControlCookie: tor.CookiePath}, discardLog())
	if err != nil {
		t.Fatalf("attach over %s: %v", sock, err)
	}
	defer tc.close()
	if _, err := tc.conn.SendRequest("GETINFO version"); err != nil {
		t.Fatalf("not authenticated: %v", err)
	}
}
