package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"mime/multipart"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/proxy"

	"github.com/flarehq/flare/internal/testtor"
)

// TestGatewayOnion runs "flare gateway --onion" on a private Tor network
// and submits a tip to its onion address through a Tor client, as a source
// in Tor Browser would; the key-holder then reads it with flare console.
func TestGatewayOnion(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: skips starting a private Tor network")
	}
	tor := testtor.New(t, testtor.Options{})
	torrc := filepath.Join(t.TempDir(), "network.torrc")
	if err := os.WriteFile(torrc, []byte(tor.JoinTorrc()), 0o600); err != nil {
		t.Fatal(err)
	}
	identity, recipient := keyholder(t, false)
	dataDir := t.TempDir()
	queueURL := "file:" + filepath.Join(dataDir, "flare.db")
	g := startGateway(t, nil, "--recipient", recipient, "--queue", queueURL, "--data-dir", dataDir, "--onion", "--torrc", torrc)

	// Wait until the onion channel reports the service published.
	deadline := time.Now().Add(3 * time.Minute)
	for {
		var rep struct {
			Channels map[string]struct {
				OK     bool   `json:"ok"`
				Status string `json:"status"`
			} `json:"channels"`
		}
		resp, err := http.Get("http://" + g.admin + "/healthz")
		if err == nil {
			json.NewDecoder(resp.Body).Decode(&rep)
			resp.Body.Close()
			if c := rep.Channels["onion"]; c.OK && strings.Contains(c.Status, "published") {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("onion not published; health %+v; logs:\n%s", rep, g.logs.Bytes())
		}
		time.Sleep(time.Second)
	}
	hostname, err := os.ReadFile(filepath.Join(dataDir, "onion", "hostname"))
	if err != nil {
		t.Fatal(err)
	}
	addr := strings.TrimSpace(string(hostname))
	if !strings.HasSuffix(addr, ".onion") || len(addr) != 62 {
		t.Fatalf("hostname file holds %q", addr)
	}

	dialer, err := proxy.SOCKS5("tcp", tor.SocksAddr(), nil, proxy.Direct)
	if err != nil {
		t.Fatal(err)
	}
	client := &http.Client{
		Timeout: 90 * time.Second,
		Transport: &http.Transport{DialContext: func(ctx context.Context, network, a string) (net.Conn, error) {
			return dialer.(proxy.ContextDialer).DialContext(ctx, network, a)
		}},
	}
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	mw.WriteField("kind", "evidence")
	mw.WriteField("message", "ledger from the compound office")
	fw, _ := mw.CreateFormFile("file", "ledger.csv")
	fw.Write(bytes.Repeat([]byte("name,passport,debt\n"), 2000))
	mw.Close()
	var page []byte
	for attempt := 0; ; attempt++ {
		req, _ := http.NewRequest("POST", "http://"+addr+"/submit", bytes.NewReader(body.Bytes()))
		req.Header.Set("Content-Type", mw.FormDataContentType())
		req.Header.Set("Accept", "application/json")
		resp, err := client.Do(req)
		if err == nil {
			page, _ = io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 {
				t.Fatalf("status %d: %s", resp.StatusCode, page)
			}
			break
		}
		// A fresh descriptor can take a few tries to fetch on a new network.
		if attempt == 5 {
			t.Fatalf("post over tor: %v", err)
		}
		time.Sleep(3 * time.Second)
	}
	var receipt struct{ Receipt string }
	if err := json.Unmarshal(page, &receipt); err != nil || receipt.Receipt == "" {
		t.Fatalf("answer %s", page)
	}
	out := runFlare(t, "console", "show", receipt.Receipt, "--identity", identity, "--queue", queueURL)
	for _, want := range []string{"Channel:   onion", "ledger from the compound office", "ledger.csv", "38000 bytes"} {
		if !strings.Contains(out, want) {
			t.Errorf("console show lacks %q:\n%s", want, out)
		}
	}
}
