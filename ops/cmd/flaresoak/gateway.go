package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"filippo.io/age"
)

// gateway is the flare process under test.
type gateway struct {
	cmd    *exec.Cmd
	addr   string
	counts chan int // goroutine counts the process prints on SIGUSR1
	done   chan struct{}
}

// startGateway runs "flare gateway" on a free loopback port with the
// embedded store in dir and default settings, and waits until it is
// healthy.
func startGateway(ctx context.Context, flare, dir string) (*gateway, error) {
	id, err := age.GenerateX25519Identity()
	if err != nil {
		return nil, err
	}
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	admin, err := freeAddr()
	if err != nil {
		return nil, err
	}
	logf, err := os.Create(filepath.Join(dir, "gateway.log"))
	if err != nil {
		return nil, err
	}
	cmd := exec.CommandContext(ctx, flare, "gateway", "--listen", addr, "--admin-listen", admin,
		"--recipient", id.Recipient().String(), "--data-dir", filepath.Join(dir, "data"), "--log-level", "warn")
	cmd.Env = cleanEnv()
	cmd.Stderr = logf
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start gateway: %w", err)
	}
	g := &gateway{cmd: cmd, addr: addr, counts: make(chan int, 16), done: make(chan struct{})}
	go g.readCounts(out)
	client := &http.Client{Timeout: time.Second}
	for i := 0; i < 200; i++ {
		resp, err := client.Get("http://" + admin + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return g, nil
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	g.stop()
	return nil, fmt.Errorf("gateway did not become healthy (log: %s)", logf.Name())
}

// freeAddr returns a free loopback address.
func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// cleanEnv is the environment without FLARE_ variables, so that the run
// uses the defaults whatever the caller's shell holds.
func cleanEnv() []string {
	var out []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "FLARE_") {
			out = append(out, kv)
		}
	}
	return out
}

func (g *gateway) readCounts(r io.Reader) {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "flaresoak goroutines="); ok {
			if n, err := strconv.Atoi(v); err == nil {
				g.counts <- n
			}
		}
	}
	close(g.done)
}

func (g *gateway) pid() int { return g.cmd.Process.Pid }

// goroutines asks the gateway for its goroutine count.
func (g *gateway) goroutines() (int, error) {
	if err := g.cmd.Process.Signal(syscall.SIGUSR1); err != nil {
		return 0, fmt.Errorf("ask goroutines: %w", err)
	}
	select {
	case n := <-g.counts:
		return n, nil
	case <-g.done:
		return 0, fmt.Errorf("gateway exited")
	case <-time.After(10 * time.Second):
		return 0, fmt.Errorf("gateway did not report its goroutines (is it built with -tags soak?)")
	}
}

// settle waits up to wait for the goroutine count to come back near
// before (a few for idle connections and timers), and returns the last
// count and whether it did.
func (g *gateway) settle(before int, wait time.Duration) (int, bool) {
	deadline := time.Now().Add(wait)
	for {
		n, err := g.goroutines()
		if err != nil {
			return -1, false
		}
		if n <= before+5 {
			return n, true
		}
		if time.Now().After(deadline) {
			return n, false
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// stop ends the gateway by its PID: SIGTERM, then SIGKILL after 10 s.
func (g *gateway) stop() {
	if g.cmd.Process == nil {
		return
	}
	g.cmd.Process.Signal(syscall.SIGTERM)
	exited := make(chan struct{})
	go func() { g.cmd.Wait(); close(exited) }()
	select {
	case <-exited:
	case <-time.After(10 * time.Second):
		g.cmd.Process.Kill()
		<-exited
	}
}

// peakRSS reads a process's peak resident set size (VmHWM) from /proc.
func peakRSS(pid int) (int64, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			if err != nil {
				return 0, err
			}
			return kb << 10, nil
		}
	}
	return 0, fmt.Errorf("no VmHWM for pid %d", pid)
}
