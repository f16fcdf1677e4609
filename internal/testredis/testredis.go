// Package testredis starts a throwaway redis-server for tests.
//
// Start runs the redis-server found on PATH on a free 127.0.0.1 port, in a
// folder of t.TempDir(), with append-only persistence fsync'd on every
// write (appendonly yes, appendfsync always) and RDB snapshots off, which
// is how Flare asks operators to run Redis. Kill9 and Restart let a test
// crash the server and bring it back on the same data, to prove that what
// was acknowledged survived. The server is stopped by its PID when the test
// ends.
//
// It does not install Redis: a test is skipped, saying so, only when
// redis-server is not on PATH.
package testredis

import (
	"bufio"
	"crypto/tls"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Server is a running redis-server owned by one test.
type Server struct {
	t    testing.TB
	bin  string
	dir  string
	port int
	tls  bool

	mu     sync.Mutex
	proc   *os.Process // nil while stopped
	exited chan error  // receives the process's exit once
}

// Start starts redis-server and registers its stop with t.Cleanup.
func Start(t testing.TB) *Server {
	t.Helper()
	return start(t, false)
}

func start(t testing.TB, useTLS bool) *Server {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		t.Skip("redis-server is not on PATH; install it (Debian: apt-get install redis-server) to run this test")
	}
	s := &Server{t: t, bin: bin, dir: t.TempDir(), tls: useTLS}
	if useTLS {
		if err := writeCerts(s.dir); err != nil {
			t.Fatalf("testredis: make TLS certificates: %v", err)
		}
	}
	t.Cleanup(s.stop)
	var lastErr error
	for range 5 {
		s.port, lastErr = freePort()
		if lastErr != nil {
			continue
		}
		if lastErr = s.start(); lastErr == nil {
			return s
		}
	}
	t.Fatalf("testredis: start redis-server: %v", lastErr)
	return nil
}

// Addr is the server's host:port.
func (s *Server) Addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(s.port)) }

// URL is the server's redis:// URL, or for StartTLS its rediss:// URL
// with ?tls_ca= naming CAFile().
func (s *Server) URL() string {
	if s.tls {
		return "rediss://" + s.Addr() + "?tls_ca=" + url.QueryEscape(s.CAFile())
	}
	return "redis://" + s.Addr()
}

// Dir is the folder holding the server's data and log.
func (s *Server) Dir() string { return s.dir }

// PID is the server process's id.
func (s *Server) PID() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.proc == nil {
		return 0
	}
	return s.proc.Pid
}

// Kill9 kills the server with SIGKILL and waits for it to be gone.
func (s *Server) Kill9() {
	s.t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.proc == nil {
		return
	}
	if err := syscall.Kill(s.proc.Pid, syscall.SIGKILL); err != nil {
		s.t.Fatalf("testredis: kill -9 %d: %v", s.proc.Pid, err)
	}
	<-s.exited
	s.proc = nil
}

// Restart starts the server again on the same folder and port, after
// Kill9 or while it runs (then it is stopped first).
func (s *Server) Restart() {
	s.t.Helper()
	s.stop()
	var err error
	for range 50 {
		if err = s.start(); err == nil {
			return
		}
		time.Sleep(100 * time.Millisecond) // the port may linger a moment
	}
	s.t.Fatalf("testredis: restart redis-server: %v", err)
}

func (s *Server) start() error {
	args := []string{
		"--port", strconv.Itoa(s.port),
		"--bind", "127.0.0.1",
	}
	if s.tls {
		args = []string{
			"--port", "0",
			"--tls-port", strconv.Itoa(s.port),
			"--tls-cert-file", filepath.Join(s.dir, "server.pem"),
			"--tls-key-file", filepath.Join(s.dir, "server-key.pem"),
			"--tls-ca-cert-file", s.CAFile(),
			"--tls-auth-clients", "no",
			"--bind", "127.0.0.1",
		}
	}
	args = append(args,
		"--dir", s.dir,
		"--appendonly", "yes",
		"--appendfsync", "always",
		"--save", "",
		"--daemonize", "no",
		"--protected-mode", "yes",
		"--logfile", filepath.Join(s.dir, "redis.log"),
		"--databases", "1",
	)
	cmd := exec.Command(s.bin, args...)
	cmd.Dir = s.dir
	if err := cmd.Start(); err != nil {
		return err
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case err := <-exited:
			return fmt.Errorf("redis-server exited at start (%v): %s", err, s.logTail())
		default:
		}
		if ping(s.Addr(), s.TLSConfig()) == nil {
			s.mu.Lock()
			s.proc, s.exited = cmd.Process, exited
			s.mu.Unlock()
			return nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	syscall.Kill(cmd.Process.Pid, syscall.SIGKILL)
	<-exited
	return fmt.Errorf("redis-server did not answer PING within 10s: %s", s.logTail())
}

func (s *Server) stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.proc == nil {
		return
	}
	pid := s.proc.Pid
	syscall.Kill(pid, syscall.SIGTERM)
	select {
	case <-s.exited:
	case <-time.After(10 * time.Second):
		syscall.Kill(pid, syscall.SIGKILL)
		<-s.exited
	}
	s.proc = nil
}

func (s *Server) logTail() string {
	b, _ := os.ReadFile(filepath.Join(s.dir, "redis.log"))
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	return strings.Join(lines[max(0, len(lines)-5):], " | ")
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// ping speaks just enough RESP to ask whether the server is ready.
func ping(addr string, tlsConfig *tls.Config) error {
	var c net.Conn
	var err error
	d := &net.Dialer{Timeout: time.Second}
	if tlsConfig != nil {
		c, err = tls.DialWithDialer(d, "tcp", addr, tlsConfig)
	} else {
		c, err = d.Dial("tcp", addr)
	}
	if err != nil {
		return err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(time.Second))
	if _, err := c.Write([]byte("PING\r\n")); err != nil {
		return err
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return err
	}
	if !strings.HasPrefix(line, "+PONG") {
		return fmt.Errorf("PING answered %q", strings.TrimSpace(line))
	}
	return nil
}
