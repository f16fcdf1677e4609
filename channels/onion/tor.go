package onion

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/textproto"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/cretz/bine/control"
	"github.com/cretz/bine/process"
	"github.com/cretz/bine/tor"
)

// setupTimeout bounds starting tor, authenticating and ADD_ONION.
const setupTimeout = 60 * time.Second

// torConn is one authenticated control connection, to the channel's own
// tor or to an attached one, for the life of one session.
type torConn struct {
	conn *control.Conn
	raw  net.Conn    // attach mode: the socket, to set deadlines and close
	proc *torProcess // own-tor mode: the process
	pid  int         // own-tor mode
	log  *slog.Logger

	// noPoW is set when tor refused the PoW keywords and the service
	// was published without the defence.
	noPoW bool

	done     chan error // receives once: why tor or the connection is gone
	doneOnce sync.Once
	cancel   context.CancelFunc
}

func (t *torConn) fail(err error) {
	t.doneOnce.Do(func() { t.done <- err })
}

// close ends the session: the own tor is stopped (SIGTERM, then SIGKILL
// after 5 s); an attached tor's control connection is closed, which makes
// tor remove the service (it was added without Detach).
func (t *torConn) close() {
	if t.cancel != nil {
		t.cancel()
	}
	if t.proc != nil {
		t.proc.stop(5 * time.Second)
	}
	if t.raw != nil {
		t.raw.SetDeadline(time.Now().Add(2 * time.Second))
		fmt.Fprintf(t.raw, "QUIT\r\n")
		t.raw.Close()
	}
}

// startTor starts the channel's own tor through bine, in dataDir, with the
// operator's torrc lines, and returns its authenticated control connection.
func startTor(ctx context.Context, cfg Config, dataDir string, lg *slog.Logger) (*torConn, error) {
	exe := cfg.TorPath
	if exe == "" {
		exe = "tor"
	}
	exe, err := exec.LookPath(exe)
	if err != nil {
		return nil, fmt.Errorf("tor not found (install tor or set onion.tor_path): %w", err)
	}
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return nil, fmt.Errorf("tor data directory: %w", err)
	}
	torrc, err := writeTorrc(dataDir, cfg.Torrc)
	if err != nil {
		return nil, err
	}
	out := &torOutput{log: lg}
	creator := &procCreator{path: exe, out: out}
	sctx, cancel := context.WithTimeout(ctx, setupTimeout)
	defer cancel()
	// The process must outlive sctx (bine ties it to the context given
	// to Start), so it gets a context of its own, cancelled in close.
	pctx, pcancel := context.WithCancel(context.WithoutCancel(ctx))
	started := make(chan struct{})
	var bt *tor.Tor
	go func() {
		defer close(started)
		bt, err = tor.Start(pctx, &tor.StartConf{
			ProcessCreator:  creator,
			DataDir:         dataDir,
			TorrcFile:       torrc,
			EnableNetwork:   true,
			NoAutoSocksPort: true,
			ExtraArgs: []string{
				// The gateway needs no SOCKS port, and tor's default
				// (9050) would clash with a system tor.
				"--SocksPort", "0",
				// If the gateway dies, its tor follows within seconds.
				"--__OwningControllerProcess", strconv.Itoa(os.Getpid()),
			},
		})
	}()
	select {
	case <-started:
	case <-sctx.Done():
		pcancel()
		<-started
		if err == nil {
			err = sctx.Err()
		}
	}
	if err != nil {
		pcancel()
		if creator.proc != nil {
			creator.proc.stop(5 * time.Second)
		}
		return nil, fmt.Errorf("start tor: %v%s", err, out.lastWarnings())
	}
	// bine leaves the file tor wrote its control port to; the port is read.
	if old, _ := filepath.Glob(filepath.Join(dataDir, "control-port-*")); len(old) > 0 {
		for _, f := range old {
			os.Remove(f)
		}
	}
	t := &torConn{conn: bt.Control, proc: creator.proc, pid: creator.proc.cmd.Process.Pid, log: lg, done: make(chan error, 1), cancel: pcancel}
	go func() {
		<-t.proc.done
		t.fail(fmt.Errorf("tor exited: %v%s", t.proc.err, out.lastWarnings()))
	}()
	return t, nil
}

// writeTorrc writes the torrc the own tor starts from: the operator's lines
// included as they are. Options on tor's command line win over both.
func writeTorrc(dataDir, operator string) (string, error) {
	var b strings.Builder
	b.WriteString("# Written by flare at every start; edit the file onion.torrc names instead.\n")
	if operator != "" {
		abs, err := filepath.Abs(operator)
		if err != nil {
			return "", err
		}
		if _, err := os.ReadFile(abs); err != nil {
			return "", fmt.Errorf("onion.torrc: %w", err)
		}
		fmt.Fprintf(&b, "%%include %s\n", abs)
	}
	path := filepath.Join(dataDir, "torrc")
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		return "", fmt.Errorf("write torrc: %w", err)
	}
	return path, nil
}

// attachTor connects to a running tor's control port and authenticates.
func attachTor(ctx context.Context, cfg Config, lg *slog.Logger) (*torConn, error) {
	network, address, err := controlNetwork(cfg.ControlAddr)
	if err != nil {
		return nil, err
	}
	d := net.Dialer{Timeout: 10 * time.Second}
	raw, err := d.DialContext(ctx, network, address)
	if err != nil {
		return nil, fmt.Errorf("tor control port: %w", err)
	}
	raw.SetDeadline(time.Now().Add(setupTimeout))
	conn := control.NewConn(textproto.NewConn(raw))
	if err := authenticate(conn, cfg); err != nil {
		raw.Close()
		return nil, fmt.Errorf("tor control port %s: %w", cfg.ControlAddr, err)
	}
	return &torConn{conn: conn, raw: raw, log: lg, done: make(chan error, 1)}, nil
}

// authenticate picks, in order: the configured password, the cookie (by
// SAFECOOKIE, else COOKIE), no authentication.
func authenticate(conn *control.Conn, cfg Config) error {
	pi, err := conn.ProtocolInfo()
	if err != nil {
		return fmt.Errorf("PROTOCOLINFO: %w", err)
	}
	cookiePath := cfg.ControlCookie
	if cookiePath == "" {
		cookiePath = pi.CookieFile
	}
	var auth string
	switch {
	case cfg.ControlPassword != "" && pi.HasAuthMethod("HASHEDPASSWORD"):
		auth = "AUTHENTICATE " + quoteControl(cfg.ControlPassword)
	case (pi.HasAuthMethod("SAFECOOKIE") || pi.HasAuthMethod("COOKIE")) && cookiePath != "":
		cookie, err := os.ReadFile(cookiePath)
		if err != nil {
			return fmt.Errorf("control cookie: %w", err)
		}
		if len(cookie) != 32 {
			return fmt.Errorf("control cookie %s is %d bytes, want 32", cookiePath, len(cookie))
		}
		if !pi.HasAuthMethod("SAFECOOKIE") {
			auth = "AUTHENTICATE " + hex.EncodeToString(cookie)
			break
		}
		if auth, err = safeCookie(conn, cookie); err != nil {
			return err
		}
	case pi.HasAuthMethod("NULL"):
		auth = "AUTHENTICATE"
	case pi.HasAuthMethod("HASHEDPASSWORD"):
		return errors.New("tor wants a control password: set onion.control_password")
	default:
		return fmt.Errorf("no usable authentication method (tor offers %s): set onion.control_password or onion.control_cookie", strings.Join(pi.AuthMethods, ","))
	}
	if _, err := conn.SendRequest("%s", auth); err != nil {
		return fmt.Errorf("authentication refused: %w", err)
	}
	conn.Authenticated = true
	return nil
}

// safeCookie runs AUTHCHALLENGE SAFECOOKIE: it proves the cookie without
// sending it, and checks that the other end knows it too, so a process
// squatting on the port learns nothing. It returns the AUTHENTICATE line.
func safeCookie(conn *control.Conn, cookie []byte) (string, error) {
	clientNonce := make([]byte, 32)
	rand.Read(clientNonce)
	resp, err := conn.SendRequest("AUTHCHALLENGE SAFECOOKIE %s", hex.EncodeToString(clientNonce))
	if err != nil {
		return "", fmt.Errorf("AUTHCHALLENGE: %w", err)
	}
	var serverHash, serverNonce []byte
	for _, f := range strings.Fields(resp.Reply) {
		if v, ok := strings.CutPrefix(f, "SERVERHASH="); ok {
			serverHash, _ = hex.DecodeString(v)
		} else if v, ok := strings.CutPrefix(f, "SERVERNONCE="); ok {
			serverNonce, _ = hex.DecodeString(v)
		}
	}
	if len(serverHash) != 32 || len(serverNonce) != 32 {
		return "", errors.New("AUTHCHALLENGE: malformed reply")
	}
	mac := func(key string) []byte {
		m := hmac.New(sha256.New, []byte(key))
		m.Write(cookie)
		m.Write(clientNonce)
		m.Write(serverNonce)
		return m.Sum(nil)
	}
	if !hmac.Equal(serverHash, mac("Tor safe cookie authentication server-to-controller hash")) {
		return "", errors.New("AUTHCHALLENGE: tor does not know the cookie (wrong cookie file, or not tor)")
	}
	return "AUTHENTICATE " + hex.EncodeToString(mac("Tor safe cookie authentication controller-to-server hash")), nil
}

// quoteControl quotes s as a control-protocol QuotedString.
func quoteControl(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\r", `\r`, "\n", `\n`)
	return `"` + r.Replace(s) + `"`
}

// publish adds the onion service with key and opts, and returns a channel
// that receives each time tor reports a descriptor uploaded. From here on
// the connection is watched: t.done receives when it is lost.
func (t *torConn) publish(ctx context.Context, key serviceKey, opts []string) (<-chan struct{}, error) {
	events := make(chan control.Event, 256)
	if err := t.conn.AddEventListener(events, control.EventCodeHSDesc); err != nil {
		return nil, fmt.Errorf("SETEVENTS: %w", err)
	}
	id, err := addOnion(t.conn, key, opts)
	if err != nil && hasPoW(opts) {
		// A tor older than 0.4.9 does not take the PoW keywords over
		// the control port; publish without rather than not at all.
		if id2, err2 := addOnion(t.conn, key, withoutPoW(opts)); err2 == nil {
			t.log.Warn("tor refused the proof-of-work options; published WITHOUT the PoW defence (upgrade tor to 0.4.9)", "err", err)
			id, err, t.noPoW = id2, nil, true
		}
	}
	if err != nil {
		return nil, fmt.Errorf("ADD_ONION: %w", err)
	}
	if id != key.id {
		return nil, fmt.Errorf("ADD_ONION: tor published %s, not the key's address", id)
	}
	if t.raw != nil {
		t.raw.SetDeadline(time.Time{})
	}
	uploaded := make(chan struct{}, 1)
	hctx, cancel := context.WithCancel(ctx)
	prev := t.cancel
	t.cancel = func() {
		cancel()
		if prev != nil {
			prev()
		}
	}
	go func() {
		err := t.conn.HandleEvents(hctx)
		if hctx.Err() == nil {
			t.fail(fmt.Errorf("tor control connection lost: %v", err))
		}
	}()
	go func() {
		for {
			select {
			case <-hctx.Done():
				return
			case ev := <-events:
				if hs, ok := ev.(*control.HSDescEvent); ok && hs.Action == "UPLOADED" && hs.Address == key.id {
					select {
					case uploaded <- struct{}{}:
					default:
					}
				}
			}
		}
	}()
	return uploaded, nil
}

func addOnion(conn *control.Conn, key serviceKey, opts []string) (string, error) {
	resp, err := conn.SendRequest("ADD_ONION %s %s", key.addOnionBlob(), strings.Join(opts, " "))
	if err != nil {
		return "", err
	}
	for _, line := range resp.Data {
		if v, ok := strings.CutPrefix(line, "ServiceID="); ok {
			return v, nil
		}
	}
	return "", errors.New("no ServiceID in reply")
}

func hasPoW(opts []string) bool { return len(withoutPoW(opts)) != len(opts) }

func withoutPoW(opts []string) []string {
	var out []string
	for _, o := range opts {
		if !strings.HasPrefix(o, "PoW") {
			out = append(out, o)
		}
	}
	return out
}

// procCreator is a bine process.Creator that keeps hold of the process, so
// that the channel can watch it and stop it by PID.
type procCreator struct {
	path string
	out  *torOutput
	proc *torProcess
}

func (p *procCreator) New(ctx context.Context, args ...string) (process.Process, error) {
	cmd := exec.CommandContext(ctx, p.path, args...)
	cmd.Stdout, cmd.Stderr = p.out, p.out
	cmd.WaitDelay = 5 * time.Second
	p.proc = &torProcess{cmd: cmd, done: make(chan struct{})}
	return p.proc, nil
}

// torProcess is a tor process that can be waited for by many.
type torProcess struct {
	cmd  *exec.Cmd
	done chan struct{}
	err  error
}

func (t *torProcess) Start() error {
	if err := t.cmd.Start(); err != nil {
		close(t.done)
		return err
	}
	go func() {
		t.err = t.cmd.Wait()
		close(t.done)
	}()
	return nil
}

func (t *torProcess) Wait() error {
	<-t.done
	return t.err
}

func (t *torProcess) EmbeddedControlConn() (net.Conn, error) {
	return nil, process.ErrControlConnUnsupported
}

// stop sends SIGTERM (a tor without relay duties exits at once), then
// SIGKILL after grace.
func (t *torProcess) stop(grace time.Duration) {
	if t.cmd.Process == nil {
		return
	}
	select {
	case <-t.done:
		return
	default:
	}
	t.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-t.done:
	case <-time.After(grace):
		t.cmd.Process.Kill()
		<-t.done
	}
}

// torOutput takes tor's console output (warnings and errors only: bine
// starts tor with --hush) into the log, and keeps the last few lines to
// explain a failed start.
type torOutput struct {
	log  *slog.Logger
	mu   sync.Mutex
	buf  []byte
	last []string
}

func (o *torOutput) Write(p []byte) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.buf = append(o.buf, p...)
	for {
		i := bytes.IndexByte(o.buf, '\n')
		if i < 0 {
			break
		}
		line := strings.TrimSpace(string(o.buf[:i]))
		o.buf = o.buf[i+1:]
		if line == "" {
			continue
		}
		// Drop tor's own timestamp: slog has one.
		if j := strings.Index(line, " ["); j >= 0 && j < 24 {
			line = line[j+1:]
		}
		o.log.Warn("tor says", "line", line)
		o.last = append(o.last, line)
		if len(o.last) > 4 {
			o.last = o.last[1:]
		}
	}
	if len(o.buf) > 64<<10 {
		o.buf = o.buf[:0]
	}
	return len(p), nil
}

func (o *torOutput) lastWarnings() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	if len(o.last) == 0 {
		return ""
	}
	return " (tor: " + strings.Join(o.last, "; ") + ")"
}
