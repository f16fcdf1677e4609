package main

import (
	"context"
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"
	"golang.org/x/sys/unix"

	"github.com/flarehq/flare/internal/testkit"
	"github.com/flarehq/flare/internal/testredis"
)

// startControlTor runs a real tor with the network off and a control
// socket, as Debian's tor service offers one, and returns the socket.
func startControlTor(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "flare-doctor-tor-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	sock := filepath.Join(dir, "control")
	torrc := filepath.Join(dir, "torrc")
	if err := os.WriteFile(torrc, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("tor", "--defaults-torrc", torrc, "-f", torrc,
		"--DataDirectory", filepath.Join(dir, "data"), "--ControlSocket", sock,
		"--SocksPort", "0", "--DisableNetwork", "1", "--Log", "err stderr")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if c, err := net.Dial("unix", sock); err == nil {
			c.Close()
			return sock
		}
	}
	t.Fatal("tor's control socket did not appear")
	return ""
}

// goodDeployment is a deployment every check passes on: a private data
// directory with its keys and onion address, a valid recipient, the
// embedded store, a tor answering on its control socket, a TLS
// certificate with 90 days left, a synchronised clock, room on disk and a
// reachable alert target.
func goodDeployment(t *testing.T, torSock string) *doctor {
	t.Helper()
	dir := t.TempDir()
	os.Chmod(dir, 0o700)
	os.WriteFile(filepath.Join(dir, "hash.key"), []byte("00\n"), 0o600)
	os.Mkdir(filepath.Join(dir, "onion"), 0o700)
	os.WriteFile(filepath.Join(dir, "onion", "hostname"), []byte(strings.Repeat("a", 56)+".onion\n"), 0o600)
	cert := testkit.WriteTLSCert(t, t.TempDir(), "tips", 90*24*time.Hour, time.Time{})
	alert, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { alert.Close() })

	cfg := defaultGatewayConfig()
	cfg.Core.DataDir = dir
	cfg.Core.Recipients = []string{recipientString(t)}
	cfg.Core.TLSCert, cfg.Core.TLSKey = cert.CertFile, cert.KeyFile
	cfg.Onion.ControlAddr = "unix:" + torSock
	d := newDoctor(cfg, []string{"FLARE_ALERT_NTFY_URL=http://" + alert.Addr().String() + "/flare"})
	d.clock = func() (int, unix.Timex, error) { return unix.TIME_OK, unix.Timex{Esterror: 2000}, nil }
	d.minFree = 1
	d.timeout = 2 * time.Second
	return d
}

func results(t *testing.T, d *doctor) (map[string]check, string, error) {
	t.Helper()
	var out strings.Builder
	err := d.run(context.Background(), &out)
	got := map[string]check{}
	for _, c := range d.checks(context.Background()) {
		got[c.Name] = c
	}
	return got, out.String(), err
}

// TestDoctor: a good deployment passes every check; breaking each
// condition fails exactly its check, with a fix, and a non-zero result.
func TestDoctor(t *testing.T) {
	torSock := startControlTor(t)

	t.Run("good deployment", func(t *testing.T) {
		got, out, err := results(t, goodDeployment(t, torSock))
		if err != nil {
			t.Fatalf("%v\n%s", err, out)
		}
		if len(got) != 8 {
			t.Fatalf("%d checks", len(got))
		}
		for name, c := range got {
			if !c.OK || c.Skipped {
				t.Errorf("%s: ok=%v skipped=%v %s", name, c.OK, c.Skipped, c.Detail)
			}
		}
		if strings.Count(out, "PASS") != 8 || !strings.Contains(out, "All checks passed.") {
			t.Errorf("output:\n%s", out)
		}
	})

	slowRedis := func(t *testing.T) string {
		rs := testredis.Start(t)
		c := goredis.NewClient(&goredis.Options{Addr: rs.Addr()})
		defer c.Close()
		if err := c.ConfigSet(context.Background(), "appendfsync", "everysec").Err(); err != nil {
			t.Fatal(err)
		}
		return rs.URL()
	}
	tests := []struct {
		check string
		want  string
		brk   func(t *testing.T, d *doctor)
	}{
		{"data directory", "hash.key", func(t *testing.T, d *doctor) {
			os.Chmod(filepath.Join(d.cfg.Core.DataDir, "hash.key"), 0o644)
		}},
		{"data directory", "readable or writable by others", func(t *testing.T, d *doctor) {
			os.Chmod(d.cfg.Core.DataDir, 0o755)
		}},
		{"recipients", "age1broken", func(t *testing.T, d *doctor) {
			d.cfg.Core.Recipients = []string{"age1broken"}
		}},
		{"recipients", "no key-holder", func(t *testing.T, d *doctor) {
			d.cfg.Core.Recipients = nil
		}},
		{"queue durability", "appendfsync everysec", func(t *testing.T, d *doctor) {
			d.cfg.Core.Queue = slowRedis(t)
		}},
		{"tor and onion", "control port", func(t *testing.T, d *doctor) {
			d.cfg.Onion.ControlAddr = "unix:" + filepath.Join(t.TempDir(), "no-tor")
		}},
		{"tor and onion", "no onion address", func(t *testing.T, d *doctor) {
			os.Remove(filepath.Join(d.cfg.Core.DataDir, "onion", "hostname"))
		}},
		{"tls certificate", "less than 14 days", func(t *testing.T, d *doctor) {
			c := testkit.WriteTLSCert(t, t.TempDir(), "tips", 10*24*time.Hour, time.Time{})
			d.cfg.Core.TLSCert, d.cfg.Core.TLSKey = c.CertFile, c.KeyFile
		}},
		{"tls certificate", "private key does not match", func(t *testing.T, d *doctor) {
			c := testkit.WriteTLSCert(t, t.TempDir(), "other", 90*24*time.Hour, time.Time{})
			d.cfg.Core.TLSKey = c.KeyFile
		}},
		{"clock", "unsynchronised", func(t *testing.T, d *doctor) {
			d.clock = func() (int, unix.Timex, error) { return unix.TIME_ERROR, unix.Timex{Status: unix.STA_UNSYNC}, nil }
		}},
		{"disk space", "free, less than", func(t *testing.T, d *doctor) {
			d.minFree = 1 << 62
		}},
		{"alert target", "does not accept connections", func(t *testing.T, d *doctor) {
			d.environ = []string{"FLARE_ALERT_WEBHOOK_URL=https://127.0.0.1:" + closedPort(t) + "/hook"}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.check+": "+tt.want, func(t *testing.T) {
			d := goodDeployment(t, torSock)
			tt.brk(t, d)
			got, out, err := results(t, d)
			if !errors.Is(err, errChecksFailed) {
				t.Fatalf("run: %v, want a failure\n%s", err, out)
			}
			c := got[tt.check]
			if c.OK || c.Skipped || !strings.Contains(c.Detail, tt.want) || c.Fix == "" {
				t.Errorf("%s: ok=%v %q (fix %q), want a failure mentioning %q", tt.check, c.OK, c.Detail, c.Fix, tt.want)
			}
			for name, other := range got {
				if name != tt.check && !other.OK {
					t.Errorf("breaking %s also failed %s: %s", tt.check, name, other.Detail)
				}
			}
			if !strings.Contains(out, "FAIL  "+tt.check) || !strings.Contains(out, "fix: ") {
				t.Errorf("output does not show the failure and its fix:\n%s", out)
			}
		})
	}

	t.Run("redis with appendfsync always passes", func(t *testing.T) {
		d := goodDeployment(t, torSock)
		d.cfg.Core.Queue = testredis.Start(t).URL()
		got, out, err := results(t, d)
		if err != nil || !got["queue durability"].OK {
			t.Fatalf("%v\n%s", err, out)
		}
	})
}

func closedPort(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	ln.Close()
	return port
}

// TestDoctorCommand runs "flare doctor" as an operator would: it reads
// the same configuration as the gateway and exits non-zero on a failure.
func TestDoctorCommand(t *testing.T) {
	dir := t.TempDir()
	os.Chmod(dir, 0o755)
	code, stdout, stderr := runApp(t, nil, "doctor", "--data-dir", dir, "--recipient", recipientString(t))
	if code != 1 || !strings.Contains(stdout, "FAIL  data directory") || !strings.Contains(stdout, "PASS  recipients") || !strings.Contains(stderr, "checks failed") {
		t.Errorf("exit %d\n%s\n%s", code, stdout, stderr)
	}
}
