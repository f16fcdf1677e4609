package testtor

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

const loopback = "127.0.0.1"

// Options shape a network. The zero value gives three authorities and three
// relays.
type Options struct {
	Authorities int // default 3
	Relays      int // default 3
	// Timeout bounds the whole start-up; default 180 s.
	Timeout time.Duration
	// Logf, if set, receives progress lines with timings.
	Logf func(format string, args ...any)
}

// Network is a running private Tor network.
type Network struct {
	dir     string
	tor     string
	gencert string
	opts    Options

	join      string // torrc lines a new tor needs to join
	socks     string
	control   string
	started   time.Duration
	mu        sync.Mutex
	processes []*Process
}

// Binaries returns the paths of tor and tor-gencert, or an error saying
// which is missing.
func Binaries() (tor, gencert string, err error) {
	tor, err = exec.LookPath("tor")
	if err != nil {
		return "", "", fmt.Errorf("tor is not installed (apt-get install tor): %w", err)
	}
	gencert, err = exec.LookPath("tor-gencert")
	if err != nil {
		return "", "", fmt.Errorf("tor-gencert is not installed (apt-get install tor): %w", err)
	}
	return tor, gencert, nil
}

// ErrNotInstalled is returned (wrapped) by Start when tor or tor-gencert is
// missing.
var ErrNotInstalled = errors.New("tor not installed")

// Start builds a network under dir (which must exist and be empty) and
// returns once its client has bootstrapped. On error, everything it
// started is stopped.
func Start(ctx context.Context, dir string, opts Options) (*Network, error) {
	tor, gencert, err := Binaries()
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrNotInstalled, err)
	}
	if opts.Authorities <= 0 {
		opts.Authorities = 3
	}
	if opts.Relays <= 0 {
		opts.Relays = 3
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 180 * time.Second
	}
	if opts.Logf == nil {
		opts.Logf = func(string, ...any) {}
	}
	ctx, cancel := context.WithTimeout(ctx, opts.Timeout)
	defer cancel()
	n := &Network{dir: dir, tor: tor, gencert: gencert, opts: opts}
	t0 := time.Now()
	if err := n.start(ctx, t0); err != nil {
		n.Stop()
		return nil, err
	}
	n.started = time.Since(t0)
	return n, nil
}

func (n *Network) logf(t0 time.Time, format string, args ...any) {
	n.opts.Logf("[%5.1fs] %s", time.Since(t0).Seconds(), fmt.Sprintf(format, args...))
}

func (n *Network) start(ctx context.Context, t0 time.Time) error {
	empty := filepath.Join(n.dir, "empty")
	if err := os.WriteFile(empty, nil, 0o600); err != nil {
		return err
	}
	nAuth, nRelay := n.opts.Authorities, n.opts.Relays
	ports, err := FreePorts(2*nAuth + nRelay + 2)
	if err != nil {
		return err
	}
	authOR, authDir := ports[:nAuth], ports[nAuth:2*nAuth]
	relayOR := ports[2*nAuth : 2*nAuth+nRelay]
	n.socks = net.JoinHostPort(loopback, strconv.Itoa(ports[2*nAuth+nRelay]))
	n.control = net.JoinHostPort(loopback, strconv.Itoa(ports[2*nAuth+nRelay+1]))

	// 1. Authority keys: a v3 authority certificate and a relay identity.
	var dirAuth []string
	for i := range nAuth {
		line, err := n.authorityKeys(ctx, i, authOR[i], authDir[i])
		if err != nil {
			return err
		}
		dirAuth = append(dirAuth, line)
	}
	n.join = strings.Join(append([]string{
		"TestingTorNetwork 1",
		"UseDefaultFallbackDirs 0",
		"PathsNeededToBuildCircuits 0.67",
	}, dirAuth...), "\n") + "\n"
	n.logf(t0, "authority keys made")

	// 2. Authorities and relays.
	for i := range nAuth {
		name := fmt.Sprintf("auth%d", i)
		torrc := n.commonTorrc(name) + relayTorrc(authOR[i]) + fmt.Sprintf(`DirPort %s:%d
AuthoritativeDirectory 1
V3AuthoritativeDirectory 1
AuthDirTestReachability 0
TestingV3AuthInitialVotingInterval 10
TestingV3AuthInitialVoteDelay 2
TestingV3AuthInitialDistDelay 2
V3AuthVotingInterval 10
V3AuthVoteDelay 2
V3AuthDistDelay 2
V3AuthNIntervalsValid 3
TestingDirAuthVoteExit *
TestingDirAuthVoteGuard *
TestingDirAuthVoteHSDir *
TestingMinExitFlagThreshold 0
`, loopback, authDir[i])
		if _, err := n.launch(name, torrc); err != nil {
			return err
		}
	}
	for i := range nRelay {
		name := fmt.Sprintf("relay%d", i)
		if _, err := n.launch(name, n.commonTorrc(name)+relayTorrc(relayOR[i])); err != nil {
			return err
		}
	}
	n.logf(t0, "started %d authorities and %d relays", nAuth, nRelay)

	// 3. Wait until every relay holds the full consensus and all
	// microdescriptors; a client started earlier backs off for long.
	if err := n.waitSettled(ctx, t0); err != nil {
		return err
	}
	n.logf(t0, "network settled")

	// 4. The client.
	client, err := n.launch("client", n.commonTorrc("client")+fmt.Sprintf(`SocksPort %s
ControlPort %s
CookieAuthentication 1
`, n.socks, n.control))
	if err != nil {
		return err
	}
	if err := waitLog(ctx, client, "Bootstrapped 100%"); err != nil {
		return fmt.Errorf("client did not bootstrap: %w", err)
	}
	n.logf(t0, "client bootstrapped (SOCKS %s)", n.socks)
	return nil
}

func (n *Network) authorityKeys(ctx context.Context, i, orPort, dirPort int) (string, error) {
	name := fmt.Sprintf("auth%d", i)
	d := filepath.Join(n.dir, name)
	if err := os.MkdirAll(filepath.Join(d, "keys"), 0o700); err != nil {
		return "", err
	}
	empty := filepath.Join(n.dir, "empty")
	gen := exec.CommandContext(ctx, n.gencert, "--create-identity-key", "-m", "12",
		"-a", fmt.Sprintf("%s:%d", loopback, dirPort),
		"-i", filepath.Join(d, "keys", "authority_identity_key"),
		"-s", filepath.Join(d, "keys", "authority_signing_key"),
		"-c", filepath.Join(d, "keys", "authority_certificate"),
		"--passphrase-fd", "0")
	gen.Stdin = strings.NewReader("\n")
	if out, err := gen.CombinedOutput(); err != nil {
		return "", fmt.Errorf("tor-gencert for %s: %v: %s", name, err, out)
	}
	cert, err := os.ReadFile(filepath.Join(d, "keys", "authority_certificate"))
	if err != nil {
		return "", err
	}
	var v3ident string
	for line := range strings.SplitSeq(string(cert), "\n") {
		if f := strings.Fields(line); len(f) == 2 && f[0] == "fingerprint" {
			v3ident = f[1]
		}
	}
	out, err := exec.CommandContext(ctx, n.tor, "--defaults-torrc", empty, "-f", empty,
		"--list-fingerprint", "--DataDirectory", d,
		"--ORPort", fmt.Sprintf("%s:%d", loopback, orPort), "--Address", loopback,
		"--Nickname", name, "--Log", "err stderr").Output()
	if err != nil {
		return "", fmt.Errorf("tor --list-fingerprint for %s: %w", name, err)
	}
	var fp string
	for line := range strings.SplitSeq(string(out), "\n") {
		if f := strings.Fields(line); len(f) > 1 && f[0] == name {
			fp = strings.Join(f[1:], "")
		}
	}
	if v3ident == "" || fp == "" {
		return "", fmt.Errorf("could not read the fingerprints of %s", name)
	}
	return fmt.Sprintf("DirAuthority %s orport=%d no-v2 v3ident=%s %s:%d %s",
		name, orPort, v3ident, loopback, dirPort, fp), nil
}

// commonTorrc holds what every node of the network has, joining lines included.
func (n *Network) commonTorrc(name string) string {
	d := filepath.Join(n.dir, name)
	return fmt.Sprintf(`DataDirectory %s
Nickname %s
PidFile %s/pid
Log notice file %s/notice.log
SafeLogging 0
LogTimeGranularity 1
ShutdownWaitLength 0
DisableDebuggerAttachment 0
__OwningControllerProcess %d
`, d, nickname(name), d, d, os.Getpid()) + n.join
}

// nickname makes a valid tor nickname (1–19 letters and digits) of name.
func nickname(name string) string {
	var b strings.Builder
	for _, r := range name {
		if b.Len() < 19 && (r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
			b.WriteRune(r)
		}
	}
	if b.Len() == 0 {
		return "node"
	}
	return b.String()
}

func relayTorrc(orPort int) string {
	return fmt.Sprintf(`Address %s
ORPort %s:%d
SocksPort 0
ContactInfo testnet@example.invalid
AssumeReachable 1
ExitRelay 1
ExitPolicy accept 127.0.0.0/8:*
ExitPolicy reject *:*
`, loopback, loopback, orPort)
}

// waitSettled waits until every authority and relay holds a
// microdescriptor consensus listing all of them, and all their
// microdescriptors.
func (n *Network) waitSettled(ctx context.Context, t0 time.Time) error {
	want := n.opts.Authorities + n.opts.Relays
	var dirs []string
	for i := range n.opts.Authorities {
		dirs = append(dirs, filepath.Join(n.dir, fmt.Sprintf("auth%d", i)))
	}
	for i := range n.opts.Relays {
		dirs = append(dirs, filepath.Join(n.dir, fmt.Sprintf("relay%d", i)))
	}
	first := false
	for {
		ok := true
		for _, d := range dirs {
			cons, _ := os.ReadFile(filepath.Join(d, "cached-microdesc-consensus"))
			if countPrefix(cons, "r ") != want {
				ok = false
				break
			}
			descs := 0
			for _, f := range []string{"cached-microdescs", "cached-microdescs.new"} {
				b, _ := os.ReadFile(filepath.Join(d, f))
				descs += countPrefix(b, "onion-key")
			}
			if descs < want {
				ok = false
				break
			}
		}
		if !first {
			if cons, _ := os.ReadFile(filepath.Join(dirs[0], "cached-microdesc-consensus")); len(cons) > 0 {
				first = true
				n.logf(t0, "first consensus (%d of %d relays listed)", countPrefix(cons, "r "), want)
			}
		}
		if ok {
			return nil
		}
		if err := n.checkAlive(); err != nil {
			return err
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("network did not settle (see %s/auth*/notice.log): %w", n.dir, ctx.Err())
		case <-time.After(200 * time.Millisecond):
		}
	}
}

func countPrefix(b []byte, prefix string) int {
	c := 0
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		if strings.HasPrefix(sc.Text(), prefix) {
			c++
		}
	}
	return c
}

func (n *Network) checkAlive() error {
	n.mu.Lock()
	defer n.mu.Unlock()
	for _, p := range n.processes {
		if p.Exited() {
			return fmt.Errorf("tor %s exited early (see %s)", p.Name, filepath.Join(p.Dir, "notice.log"))
		}
	}
	return nil
}

// launch writes torrc into a fresh node directory and starts tor on it.
func (n *Network) launch(name, torrc string) (*Process, error) {
	d := filepath.Join(n.dir, name)
	if err := os.MkdirAll(d, 0o700); err != nil {
		return nil, err
	}
	if err := os.Chmod(d, 0o700); err != nil {
		return nil, err
	}
	path := filepath.Join(d, "torrc")
	if err := os.WriteFile(path, []byte(torrc), 0o600); err != nil {
		return nil, err
	}
	p, err := startProcess(name, d, n.tor, "--defaults-torrc", filepath.Join(n.dir, "empty"), "-f", path)
	if err != nil {
		return nil, err
	}
	n.mu.Lock()
	n.processes = append(n.processes, p)
	n.mu.Unlock()
	return p, nil
}

// waitLog waits until p's notice log contains s, or p exits.
func waitLog(ctx context.Context, p *Process, s string) error {
	log := filepath.Join(p.Dir, "notice.log")
	for {
		if b, _ := os.ReadFile(log); bytes.Contains(b, []byte(s)) {
			return nil
		}
		if p.Exited() {
			return fmt.Errorf("tor %s exited (see %s)", p.Name, log)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for %q in %s: %w", s, log, ctx.Err())
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// SocksAddr is the client's SOCKS5 address, host:port. Use it with
// "socks5h://" so that the client resolves .onion names.
func (n *Network) SocksAddr() string { return n.socks }

// ClientControlAddr is the client's control port; its cookie is
// ClientCookie.
func (n *Network) ClientControlAddr() string { return n.control }

// ClientCookie is the path of the client's control cookie.
func (n *Network) ClientCookie() string {
	return filepath.Join(n.dir, "client", "control_auth_cookie")
}

// JoinTorrc returns the torrc lines a new tor needs to join the network:
// TestingTorNetwork and the DirAuthority lines.
func (n *Network) JoinTorrc() string { return n.join }

// Dir is the directory the network lives in (logs are under it).
func (n *Network) Dir() string { return n.dir }

// StartupTime is how long Start took, for reports.
func (n *Network) StartupTime() time.Duration { return n.started }

// Stop stops every tor of the network, and every tor started with
// StartTor, by PID: SIGTERM, then SIGKILL after 5 s.
func (n *Network) Stop() {
	n.mu.Lock()
	ps := n.processes
	n.processes = nil
	n.mu.Unlock()
	stopAll(ps)
}

// FreePorts returns count distinct free TCP ports on 127.0.0.1. They are
// free when it returns; another process could still take one before use.
func FreePorts(count int) ([]int, error) {
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	var ports []int
	for range count {
		l, err := net.Listen("tcp", net.JoinHostPort(loopback, "0"))
		if err != nil {
			return nil, fmt.Errorf("find a free port: %w", err)
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

// Process is a tor started by this package.
type Process struct {
	Name string
	Dir  string
	PID  int
	cmd  *exec.Cmd
	done chan struct{}
	err  error
}

func startProcess(name, dir, tor string, args ...string) (*Process, error) {
	out, err := os.OpenFile(filepath.Join(dir, "stdout.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(tor, args...)
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		out.Close()
		return nil, fmt.Errorf("start tor %s: %w", name, err)
	}
	p := &Process{Name: name, Dir: dir, PID: cmd.Process.Pid, cmd: cmd, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		out.Close()
		close(p.done)
	}()
	return p, nil
}

// Exited reports whether the process has exited.
func (p *Process) Exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// Done is closed when the process has exited.
func (p *Process) Done() <-chan struct{} { return p.done }

// Stop sends SIGTERM, waits up to 5 s, then sends SIGKILL, and waits.
func (p *Process) Stop() { stopAll([]*Process{p}) }

func stopAll(ps []*Process) {
	for _, p := range ps {
		if !p.Exited() {
			p.cmd.Process.Signal(syscall.SIGTERM)
		}
	}
	deadline := time.NewTimer(5 * time.Second)
	defer deadline.Stop()
	for i, p := range ps {
		select {
		case <-p.done:
			continue
		case <-deadline.C:
		}
		for _, q := range ps[i:] {
			if !q.Exited() {
				q.cmd.Process.Kill()
			}
			<-q.done
		}
		return
	}
}
