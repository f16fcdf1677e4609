package onion

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/flarehq/flare/internal/testtor"
)

// These tests run the onion channel on the package's private Tor network
// (see TestMain) and reach it as a source would: through a client tor's
// SOCKS port, by its .onion address.

// TestSubmitOverTorAndRestart: the gateway's own tor publishes the intake;
// a tip with an attachment POSTed to /submit over Tor is queued sealed and
// opens with the key-holder's identity. After a restart the address is
// the same and a second tip goes through.
func TestSubmitOverTorAndRestart(t *testing.T) {
	n := testtor.Shared(t)
	kh := newKeyHolder(t)
	dataDir := t.TempDir()
	q, queueURL := openQueue(t, dataDir)
	cfg := DefaultConfig()
	cfg.Enable = true
	cfg.Torrc = joinTorrc(t, n)
	cfg.DataDir = dataDir

	g := startGateway(t, kh, q, cfg)
	addr := g.ch.Address()
	took := g.waitPublished(t, 2*time.Minute)
	t.Logf("published %s in %.1fs", addr, took.Seconds())
	host, err := os.ReadFile(filepath.Join(dataDir, "onion", "hostname"))
	if err != nil || strings.TrimSpace(string(host)) != addr {
		t.Fatalf("hostname file = %q (%v), want %s", host, err, addr)
	}
	if !strings.Contains(g.logs.String(), addr) {
		t.Fatal("the onion address is not in the gateway's log")
	}
	_, _, reach := waitReachable(t, n, addr, 2*time.Minute)
	t.Logf("reachable through the client after %.1fs more", reach.Seconds())

	const sentinel1 = "SENTINEL-onion-first-7f3a9"
	file1 := attachment(sentinel1)
	start := time.Now()
	receipt1 := submitTip(t, n, addr, "first tip "+sentinel1, file1)
	t.Logf("tip with a %d KiB attachment submitted over Tor in %.1fs", len(file1)>>10, time.Since(start).Seconds())
	checkTip(t, q, kh, findTip(t, q, kh, receipt1), "first tip "+sentinel1, file1)
	consoleShow(t, kh, queueURL, receipt1, "first tip "+sentinel1, file1)

	pid := g.ch.torPID()
	g.stop(t)
	if pid == 0 || syscall.Kill(pid, 0) == nil {
		t.Fatalf("the gateway's tor (pid %d) still runs after the gateway stopped", pid)
	}

	g2 := startGateway(t, kh, q, cfg)
	if g2.ch.Address() != addr {
		t.Fatalf("address changed across a restart: %s, then %s", addr, g2.ch.Address())
	}
	took = g2.waitPublished(t, 2*time.Minute)
	t.Logf("republished after restart in %.1fs", took.Seconds())
	waitReachable(t, n, addr, 2*time.Minute)
	const sentinel2 = "SENTINEL-onion-second-c41d2"
	file2 := attachment(sentinel2)
	receipt2 := submitTip(t, n, addr, "second tip "+sentinel2, file2)
	checkTip(t, q, kh, findTip(t, q, kh, receipt2), "second tip "+sentinel2, file2)
	checkTip(t, q, kh, findTip(t, q, kh, receipt1), "first tip "+sentinel1, file1)
	consoleShow(t, kh, queueURL, receipt2, "second tip "+sentinel2, file2)
	g2.stop(t)

	for _, s := range []string{sentinel1, sentinel2} {
		assertNoSentinel(t, s, g.logs.String()+g2.logs.String(), dataDir)
	}
}

// TestAttachWithCookie: the gateway attaches to a tor it did not start
// (as to a system tor) with cookie authentication, publishes, serves the
// onion pages with their policy, and leaves that tor running when it
// stops.
func TestAttachWithCookie(t *testing.T) {
	n := testtor.Shared(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	sys, err := n.StartTor(ctx, "systemtor")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sys.Stop)

	kh := newKeyHolder(t)
	q, _ := openQueue(t, t.TempDir())
	cfg := DefaultConfig()
	cfg.ControlAddr = sys.ControlAddr
	cfg.ControlCookie = sys.CookiePath
	cfg.DataDir = t.TempDir()
	g := startGateway(t, kh, q, cfg)
	took := g.waitPublished(t, 2*time.Minute)
	t.Logf("published through an attached tor in %.1fs", took.Seconds())
	if g.ch.torPID() != 0 {
		t.Fatal("attach mode reports a tor of its own")
	}
	addr := g.ch.Address()
	resp, body, _ := waitReachable(t, n, addr, 2*time.Minute)
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), "<form") {
		t.Fatalf("GET / over Tor: status %d, body %.200q", resp.StatusCode, body)
	}

	t.Run("pages", func(t *testing.T) { checkOnionPages(t, n, addr) })

	g.stop(t)
	if sys.Exited() {
		t.Fatal("stopping the gateway stopped the tor it attached to")
	}
}

// TestTorDeathIsReportedAndRepaired: killing the gateway's tor shows in
// /healthz while the other channels go on; the gateway restarts tor and
// the same address is reachable again.
func TestTorDeathIsReportedAndRepaired(t *testing.T) {
	n := testtor.Shared(t)
	kh := newKeyHolder(t)
	q, _ := openQueue(t, t.TempDir())
	cfg := DefaultConfig()
	cfg.Enable = true
	cfg.Torrc = joinTorrc(t, n)
	cfg.DataDir = t.TempDir()
	cfg.MinBackoff = 2 * time.Second
	g := startGateway(t, kh, q, cfg)
	addr := g.ch.Address()
	g.waitPublished(t, 2*time.Minute)
	waitReachable(t, n, addr, 2*time.Minute)
	if code, hs := g.health(t); code != http.StatusOK || !hs["onion"].OK {
		t.Fatalf("healthz before the kill: %d %+v", code, hs)
	}

	pid := g.ch.torPID()
	killed := time.Now()
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatalf("kill tor %d: %v", pid, err)
	}
	// The outage shows in /healthz; the web channel stays healthy.
	for deadline := time.Now().Add(10 * time.Second); ; {
		code, hs := g.health(t)
		if !hs["onion"].OK {
			if code != http.StatusServiceUnavailable {
				t.Errorf("healthz status %d with the onion down, want 503", code)
			}
			if !hs["web"].OK {
				t.Errorf("web channel unhealthy while only tor is down: %+v", hs["web"])
			}
			t.Logf("healthz reports the onion down %.1fs after the kill: %q", time.Since(killed).Seconds(), hs["onion"].Status)
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("healthz never reported the onion down")
		}
		time.Sleep(50 * time.Millisecond)
	}
	// The plain web intake keeps taking tips meanwhile.
	resp, err := http.Get(g.baseURL + "/")
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("plain web intake while tor is down: %v %v", resp, err)
	}
	resp.Body.Close()

	g.waitPublished(t, 2*time.Minute)
	t.Logf("republished %.1fs after the kill", time.Since(killed).Seconds())
	if newPID := g.ch.torPID(); newPID == 0 || newPID == pid {
		t.Fatalf("tor pid after restart = %d (was %d)", newPID, pid)
	}
	if g.ch.Address() != addr {
		t.Fatal("address changed after tor restarted")
	}
	_, _, reach := waitReachable(t, n, addr, 2*time.Minute)
	t.Logf("reachable again %.1fs after republishing", reach.Seconds())
	if code, hs := g.health(t); code != http.StatusOK || !hs["onion"].OK {
		t.Fatalf("healthz after recovery: %d %+v", code, hs)
	}
}
