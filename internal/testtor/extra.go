package testtor

import (
	"bufio"
	"context"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Tor is an extra tor on the network, started by StartTor: a client with
// a control port (cookie authentication) and no SOCKS port, as a system
// tor that an application attaches to would be.
type Tor struct {
	*Process
	// ControlAddr is the control port, host:port.
	ControlAddr string
	// CookiePath is the control cookie file.
	CookiePath string
}

// StartTor starts a tor named name that joins the network, with a control
// port on a free port and CookieAuthentication 1, plus the extra torrc
// lines. It returns once the control port accepts connections; the tor may
// still be bootstrapping (see WaitBootstrapped). Network.Stop stops it too.
func (n *Network) StartTor(ctx context.Context, name string, extra ...string) (*Tor, error) {
	ports, err := FreePorts(1)
	if err != nil {
		return nil, err
	}
	control := net.JoinHostPort(loopback, strconv.Itoa(ports[0]))
	torrc := n.commonTorrc(name) + fmt.Sprintf("SocksPort 0\nControlPort %s\nCookieAuthentication 1\n", control)
	for _, l := range extra {
		torrc += l + "\n"
	}
	p, err := n.launch(name, torrc)
	if err != nil {
		return nil, err
	}
	t := &Tor{Process: p, ControlAddr: control, CookiePath: filepath.Join(p.Dir, "control_auth_cookie")}
	for {
		c, err := net.DialTimeout("tcp", control, time.Second)
		if err == nil {
			c.Close()
			if _, err := os.Stat(t.CookiePath); err == nil {
				return t, nil
			}
		}
		if p.Exited() {
			return nil, fmt.Errorf("tor %s exited (see %s/notice.log)", name, p.Dir)
		}
		select {
		case <-ctx.Done():
			p.Stop()
			return nil, fmt.Errorf("tor %s control port: %w", name, ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// WaitBootstrapped waits until the tor has bootstrapped to 100 %.
func (t *Tor) WaitBootstrapped(ctx context.Context) error {
	return waitLog(ctx, t.Process, "Bootstrapped 100%")
}

// NewNym tells the network's client to forget its circuits and cached
// onion-service failures, as a user's "New Identity" would.
func (n *Network) NewNym(ctx context.Context) error {
	return controlCommand(ctx, n.control, n.ClientCookie(), "SIGNAL NEWNYM")
}

// controlCommand authenticates to a control port with a cookie and sends
// one command, returning an error unless tor answers 250.
func controlCommand(ctx context.Context, addr, cookiePath, cmd string) error {
	cookie, err := os.ReadFile(cookiePath)
	if err != nil {
		return err
	}
	d := net.Dialer{Timeout: 5 * time.Second}
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return err
	}
	defer c.Close()
	deadline := time.Now().Add(10 * time.Second)
	if dl, ok := ctx.Deadline(); ok && dl.Before(deadline) {
		deadline = dl
	}
	c.SetDeadline(deadline)
	r := bufio.NewReader(c)
	for _, line := range []string{"AUTHENTICATE " + hex.EncodeToString(cookie), cmd} {
		if _, err := fmt.Fprintf(c, "%s\r\n", line); err != nil {
			return err
		}
		reply, err := r.ReadString('\n')
		if err != nil {
			return err
		}
		if !strings.HasPrefix(reply, "250") {
			return fmt.Errorf("control port: %q: %s", strings.Fields(line)[0], strings.TrimSpace(reply))
		}
	}
	fmt.Fprintf(c, "QUIT\r\n")
	return nil
}

// StartOffline starts a tor of t's own that never touches a network
// (DisableNetwork 1, no directory authorities), with a control port and
// cookie authentication plus the extra torrc lines, and stops it by PID in
// t.Cleanup. Control-port behaviour (authentication, ADD_ONION) and key
// files can be tested on it in a fraction of a second. It skips t when tor
// is not installed.
func StartOffline(t testing.TB, extra ...string) *Tor {
	t.Helper()
	exe, _, err := Binaries()
	if err != nil {
		t.Skipf("skipping: %v", err)
	}
	dir := t.TempDir()
	ports, err := FreePorts(1)
	if err != nil {
		t.Fatal(err)
	}
	control := net.JoinHostPort(loopback, strconv.Itoa(ports[0]))
	torrc := fmt.Sprintf(`DataDirectory %s
DisableNetwork 1
SocksPort 0
ControlPort %s
CookieAuthentication 1
Log notice file %s/notice.log
__OwningControllerProcess %d
`, dir, control, dir, os.Getpid())
	for _, l := range extra {
		torrc += l + "\n"
	}
	path := filepath.Join(dir, "torrc")
	if err := os.WriteFile(path, []byte(torrc), 0o600); err != nil {
		t.Fatal(err)
	}
	empty := filepath.Join(dir, "empty")
	if err := os.WriteFile(empty, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	p, err := startProcess("offline", dir, exe, "--defaults-torrc", empty, "-f", path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Stop)
	tt := &Tor{Process: p, ControlAddr: control, CookiePath: filepath.Join(dir, "control_auth_cookie")}
	deadline := time.Now().Add(30 * time.Second)
	for {
		if c, err := net.DialTimeout("tcp", control, time.Second); err == nil {
			c.Close()
			if _, err := os.Stat(tt.CookiePath); err == nil {
				return tt
			}
		}
		if p.Exited() {
			out, _ := os.ReadFile(filepath.Join(dir, "stdout.log"))
			t.Fatalf("offline tor exited: %s", out)
		}
		if time.Now().After(deadline) {
			t.Fatal("offline tor's control port did not open within 30 s")
		}
		time.Sleep(50 * time.Millisecond)
	}
}
