package testredis

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// do sends one inline command and returns the first reply line.
func do(t *testing.T, addr, cmd string) string {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	fmt.Fprintf(c, "%s\r\n", cmd)
	r := bufio.NewReader(c)
	// Read a reply: an array's elements, a bulk string's body, or a line.
	var parts []string
	pending := 1
	for pending > 0 {
		line, err := r.ReadString('\n')
		if err != nil {
			t.Fatal(err)
		}
		line = strings.TrimSpace(line)
		pending--
		switch {
		case strings.HasPrefix(line, "*"):
			n := 0
			fmt.Sscan(line[1:], &n)
			pending += max(n, 0)
		case strings.HasPrefix(line, "$") && line != "$-1":
			pending++
		default:
			parts = append(parts, line)
		}
	}
	return strings.Join(parts, " ")
}

func TestStartKillRestart(t *testing.T) {
	s := Start(t)
	if !strings.HasPrefix(s.URL(), "redis://127.0.0.1:") {
		t.Fatalf("URL() = %q", s.URL())
	}
	if got := do(t, s.Addr(), "CONFIG GET appendfsync"); !strings.Contains(got, "appendfsync") {
		t.Fatalf("CONFIG GET appendfsync = %q", got)
	}
	if got := do(t, s.Addr(), "SET survivor yes"); got != "+OK" {
		t.Fatalf("SET = %q", got)
	}
	pid := s.PID()
	s.Kill9()
	if err := syscall.Kill(pid, 0); err == nil {
		t.Fatalf("redis-server %d still running after Kill9", pid)
	}
	if ping(s.Addr(), nil) == nil {
		t.Fatal("server still answers after Kill9")
	}
	s.Restart()
	if s.PID() == pid || s.PID() == 0 {
		t.Fatalf("PID after Restart = %d (was %d)", s.PID(), pid)
	}
	if got := do(t, s.Addr(), "GET survivor"); !strings.Contains(got, "yes") {
		t.Fatalf("GET after kill -9 and restart = %q, want the acknowledged value", got)
	}
	if _, err := os.Stat(filepath.Join(s.Dir(), "appendonlydir")); err != nil {
		t.Fatalf("no append-only folder in Dir(): %v", err)
	}
}

func TestSettings(t *testing.T) {
	s := Start(t)
	cases := map[string]string{
		"appendonly":  "yes",
		"appendfsync": "always",
		"bind":        "127.0.0.1",
	}
	for key, want := range cases {
		if got := do(t, s.Addr(), "CONFIG GET "+key); !strings.HasSuffix(got, want) {
			t.Errorf("CONFIG GET %s = %q, want %s", key, got, want)
		}
	}
	if got := do(t, s.Addr(), "CONFIG GET save"); strings.Contains(got, "3600") {
		t.Errorf("RDB snapshots are on: %q", got)
	}
}

func TestStopsOnCleanup(t *testing.T) {
	var pid int
	t.Run("server", func(t *testing.T) {
		pid = Start(t).PID()
	})
	time.Sleep(50 * time.Millisecond)
	if err := syscall.Kill(pid, 0); err == nil {
		t.Fatalf("redis-server %d still running after its test ended", pid)
	}
}

func TestTLS(t *testing.T) {
	s := StartTLS(t)
	if !strings.HasPrefix(s.URL(), "rediss://127.0.0.1:") || !strings.Contains(s.URL(), "tls_ca=") {
		t.Fatalf("URL() = %q", s.URL())
	}
	if err := ping(s.Addr(), s.TLSConfig()); err != nil {
		t.Fatalf("PING over TLS: %v", err)
	}
	if err := ping(s.Addr(), nil); err == nil {
		t.Fatal("plaintext PING answered on the TLS port")
	}
	s.Kill9()
	s.Restart()
	if err := ping(s.Addr(), s.TLSConfig()); err != nil {
		t.Fatalf("PING over TLS after restart: %v", err)
	}
}
