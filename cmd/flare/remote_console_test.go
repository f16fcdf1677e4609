package main

import (
	"bufio"
	"context"
	"crypto/ecdh"
	"crypto/rand"
	"encoding/base32"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/flarehq/flare/console/triage"
	"github.com/flarehq/flare/crypto"
	"github.com/flarehq/flare/internal/testtor"
	"github.com/flarehq/flare/queue/backend"
	"github.com/flarehq/flare/queue/embedded"
)

// TestRemoteConsoleOverOnion is issue 16's test 3: a console on another
// "machine" (its own tor, its own data, its own process) reaches the
// gateway's embedded store only over a private Tor network's onion service
// with client authorization; it lists, reads and triages tips. A tor
// without the client key cannot reach the service at all.
func TestRemoteConsoleOverOnion(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: skips starting a private Tor network")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	n := testtor.New(t, testtor.Options{})

	identity, recipient := keyholder(t, false)
	dataDir := t.TempDir()
	storeAddr := freeAddr(t)
	g := startGateway(t, nil, "--recipient", recipient, "--data-dir", dataDir, "--console-listen", storeAddr)
	for _, text := range []string{"remote tip one", "remote tip two"} {
		if status, page := postTip(t, "http://"+g.addr+"/", map[string]string{"message": text, "kind": "distress"}, nil); status != 200 {
			t.Fatalf("status %d: %s", status, page)
		}
	}

	// The server's tor publishes the store with client authorization:
	// only the holder of the x25519 key below can fetch its descriptor.
	key, err := ecdh.X25519().GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	b32 := base32.StdEncoding.WithPadding(base32.NoPadding)
	hsDir := filepath.Join(t.TempDir(), "console-hs")
	os.MkdirAll(filepath.Join(hsDir, "authorized_clients"), 0o700)
	os.Chmod(hsDir, 0o700)
	os.WriteFile(filepath.Join(hsDir, "authorized_clients", "alice.auth"), []byte("descriptor:x25519:"+b32.EncodeToString(key.PublicKey().Bytes())+"\n"), 0o600)
	if _, err := n.StartTor(ctx, "storehs", "HiddenServiceDir "+hsDir, "HiddenServicePort 80 "+storeAddr); err != nil {
		t.Fatal(err)
	}
	var onion string
	for deadline := time.Now().Add(time.Minute); onion == ""; time.Sleep(200 * time.Millisecond) {
		b, _ := os.ReadFile(filepath.Join(hsDir, "hostname"))
		onion = strings.TrimSpace(string(b))
		if onion == "" && time.Now().After(deadline) {
			t.Fatal("no hostname for the console onion service")
		}
	}

	// First a tor without the key: once the service is published, tor
	// fetches its descriptor and cannot decrypt it (SOCKS extended error
	// 0xF4 = 244, "client authorization missing"), so the console cannot
	// even find the service.
	stranger, err := n.StartTor(ctx, "stranger")
	if err != nil {
		t.Fatal(err)
	}
	ports, err := testtor.FreePorts(1)
	if err != nil {
		t.Fatal(err)
	}
	strangerSocks := net.JoinHostPort("127.0.0.1", strconv.Itoa(ports[0]))
	if err := torControl(ctx, stranger.ControlAddr, stranger.CookiePath, `SETCONF SocksPort="`+strangerSocks+` ExtendedErrors"`); err != nil {
		t.Fatal(err)
	}
	if err := stranger.WaitBootstrapped(ctx); err != nil {
		t.Fatal(err)
	}
	noKey := "onion://" + onion + "?socks=" + strangerSocks
	for deadline := time.Now().Add(4 * time.Minute); ; time.Sleep(2 * time.Second) {
		cctx, ccancel := context.WithTimeout(ctx, time.Minute)
		out, err := exec.CommandContext(cctx, flareBin, "console", "list", "--json", "--identity", identity, "--queue", noKey).CombinedOutput()
		ccancel()
		if err == nil || strings.Contains(string(out), "remote tip") {
			t.Fatalf("a tor without the client key reached the store: %s", out)
		}
		if strings.Contains(string(out), "244") {
			t.Logf("without the client key: %s", strings.TrimSpace(string(out)))
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("never saw the service refuse a client without the key: %s", out)
		}
	}

	// The key-holder's laptop tor gets the client key.
	if err := torControl(ctx, n.ClientControlAddr(), n.ClientCookie(),
		"ONION_CLIENT_AUTH_ADD "+strings.TrimSuffix(onion, ".onion")+" x25519:"+base64.StdEncoding.EncodeToString(key.Bytes())); err != nil {
		t.Fatal(err)
	}
	remoteURL := "onion://" + onion + "?socks=" + n.SocksAddr()

	// List (retrying while the descriptor is being published), then show.
	var rows []listRow
	for deadline := time.Now().Add(4 * time.Minute); ; time.Sleep(2 * time.Second) {
		out, err := exec.CommandContext(ctx, flareBin, "console", "list", "--json", "--identity", identity, "--queue", remoteURL).Output()
		if err == nil && json.Unmarshal(out, &rows) == nil && len(rows) == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the console never listed the tips over the onion service: %v %s", err, out)
		}
	}
	if !strings.Contains(rows[0].Preview+rows[1].Preview, "remote tip one") {
		t.Errorf("listed %+v", rows)
	}
	shown := runFlare(t, "console", "show", rows[1].ID, "--identity", identity, "--queue", remoteURL)
	if !strings.Contains(shown, "remote tip two") {
		t.Errorf("show over the onion service:\n%s", shown)
	}

	// Triage from the laptop, read back on the server's own store.
	ids, err := crypto.LoadIdentities(identity, nil)
	if err != nil {
		t.Fatal(err)
	}
	r, _ := crypto.ParseRecipient(recipient)
	sealer, _ := crypto.NewSealer(r)
	rq, err := backend.Open(ctx, remoteURL)
	if err != nil {
		t.Fatal(err)
	}
	defer rq.Close()
	st, err := triage.New(triage.Config{Records: rq, Sealer: sealer, Identities: ids, Who: "alice"})
	if err != nil {
		t.Fatal(err)
	}
	status := triage.StatusInProgress
	if _, err := st.Apply(ctx, rows[0].ID, 0, triage.Change{Status: &status, Note: "called back"}); err != nil {
		t.Fatalf("triage over the onion service: %v", err)
	}
	if _, err := rq.Enqueue(ctx, "tips", []byte("forged")); err == nil {
		t.Error("a remote console could enqueue")
	}
	local, err := embedded.Open(ctx, filepath.Join(dataDir, "flare.db"), embedded.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer local.Close()
	lst, _ := triage.New(triage.Config{Records: local, Sealer: sealer, Identities: ids, Who: "server-check"})
	if rec, err := lst.Get(ctx, rows[0].ID); err != nil || rec.Status != status {
		t.Errorf("triage not in the gateway's store: %+v %v", rec, err)
	}
}

// torControl authenticates to a tor's control port with its cookie and
// runs one command, failing unless tor answers 250.
func torControl(ctx context.Context, addr, cookiePath, cmd string) error {
	cookie, err := os.ReadFile(cookiePath)
	if err != nil {
		return err
	}
	var d net.Dialer
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(30 * time.Second))
	r := bufio.NewReader(c)
	for _, line := range []string{"AUTHENTICATE " + hex.EncodeToString(cookie), cmd} {
		fmt.Fprintf(c, "%s\r\n", line)
		reply, err := r.ReadString('\n')
		if err != nil {
			return err
		}
		if !strings.HasPrefix(reply, "250") {
			return fmt.Errorf("tor control %q: %s", strings.Fields(line)[0], strings.TrimSpace(reply))
		}
	}
	return nil
}
