package testtor

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestMain(m *testing.M) { os.Exit(Main(m)) }

func TestFreePortsDistinct(t *testing.T) {
	ports, err := FreePorts(20)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[int]bool{}
	for _, p := range ports {
		if p <= 0 || seen[p] {
			t.Fatalf("bad or repeated port %d in %v", p, ports)
		}
		seen[p] = true
	}
}

// TestNetworkServesOnion proves the harness end to end: an extra tor joins
// the shared network with the JoinTorrc lines, publishes an onion service
// from a HiddenServiceDir, and the client reaches it through SocksAddr.
func TestNetworkServesOnion(t *testing.T) {
	n := Shared(t)
	if !strings.Contains(n.JoinTorrc(), "TestingTorNetwork 1") || strings.Count(n.JoinTorrc(), "DirAuthority ") != 3 {
		t.Fatalf("JoinTorrc lacks the network lines:\n%s", n.JoinTorrc())
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, "hello from the private network")
	})}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	hsDir := filepath.Join(n.Dir(), "hs-selftest", "hidden_service")
	start := time.Now()
	hs, err := n.StartTor(ctx, "hs-selftest",
		"HiddenServiceDir "+hsDir,
		"HiddenServicePort 80 "+ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(hs.Stop)
	if err := hs.WaitBootstrapped(ctx); err != nil {
		t.Fatal(err)
	}
	host, err := os.ReadFile(filepath.Join(hsDir, "hostname"))
	if err != nil {
		t.Fatal(err)
	}
	onion := strings.TrimSpace(string(host))

	proxy, _ := url.Parse("socks5h://" + n.SocksAddr())
	client := &http.Client{Transport: &http.Transport{Proxy: http.ProxyURL(proxy)}, Timeout: 30 * time.Second}
	var body []byte
	for attempt := 1; ; attempt++ {
		resp, err := client.Get("http://" + onion + "/")
		if err == nil {
			body, err = io.ReadAll(resp.Body)
			resp.Body.Close()
			if err == nil {
				break
			}
		}
		if ctx.Err() != nil {
			t.Fatalf("onion never reachable: %v", err)
		}
		if err := n.NewNym(ctx); err != nil {
			t.Fatalf("NEWNYM: %v", err)
		}
		time.Sleep(time.Second)
	}
	t.Logf("onion reachable %.1fs after its tor started", time.Since(start).Seconds())
	if string(body) != "hello from the private network" {
		t.Fatalf("body = %q", body)
	}

	hs.Stop()
	if !hs.Exited() {
		t.Fatal("Stop returned with the tor still running")
	}
}
