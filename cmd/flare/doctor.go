package main

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/dustin/go-humanize"
	goredis "github.com/redis/go-redis/v9"
	"golang.org/x/sys/unix"

	"github.com/flarehq/flare/crypto"
	flareredis "github.com/flarehq/flare/queue/redis"
)

// check is one of flare doctor's findings: what was checked, whether it
// passed (or did not apply), what was seen, and how to fix a failure.
type check struct {
	Name    string
	OK      bool
	Skipped bool
	Detail  string
	Fix     string
}

// doctor checks a gateway deployment from its configuration. Its clock
// and the free-space floor are fields so that tests can give a broken
// clock and an impossible floor; flare doctor uses the machine's.
type doctor struct {
	cfg     *gatewayConfig
	environ []string
	now     func() time.Time
	// clock reads the kernel's clock discipline (adjtimex).
	clock   func() (state int, tx unix.Timex, err error)
	minFree uint64
	timeout time.Duration
}

// minCertDays is how long the TLS certificate must still be valid: renewals
// (certbot, Caddy) happen at 30 days left, so 14 means renewal is broken.
const minCertDays = 14

func newDoctor(cfg *gatewayConfig, environ []string) *doctor {
	return &doctor{
		cfg:     cfg,
		environ: environ,
		now:     time.Now,
		clock: func() (int, unix.Timex, error) {
			var tx unix.Timex // Modes 0: read only, no privilege needed
			state, err := unix.Adjtimex(&tx)
			return state, tx, err
		},
		minFree: 1 << 30,
		timeout: 5 * time.Second,
	}
}

func runDoctor(ctx context.Context, a *app, args []string) error {
	cfg := defaultGatewayConfig()
	cfg.Core.DataDir = defaultDataDir(a.environ, cfg.Core.DataDir)
	if _, err := loadGatewayConfig(cfg, args, a.environ, a.stdout); err != nil {
		return err
	}
	return newDoctor(cfg, a.environ).run(ctx, a.stdout)
}

// errChecksFailed is returned when any check failed; main exits 1.
var errChecksFailed = errors.New("some checks failed")

func (d *doctor) run(ctx context.Context, w io.Writer) error {
	failed := 0
	for _, c := range d.checks(ctx) {
		status := "PASS"
		switch {
		case c.Skipped:
			status = "SKIP"
		case !c.OK:
			status = "FAIL"
			failed++
		}
		fmt.Fprintf(w, "%-4s  %-18s %s\n", status, c.Name, c.Detail)
		if !c.OK && !c.Skipped && c.Fix != "" {
			fmt.Fprintf(w, "      %-18s fix: %s\n", "", c.Fix)
		}
	}
	if failed > 0 {
		return fmt.Errorf("%w: %d", errChecksFailed, failed)
	}
	fmt.Fprintln(w, "All checks passed.")
	return nil
}

func (d *doctor) checks(ctx context.Context) []check {
	return []check{
		d.checkDataDir(),
		d.checkRecipients(),
		d.checkQueue(ctx),
		d.checkTor(ctx),
		d.checkTLS(),
		d.checkClock(),
		d.checkDisk(),
		d.checkAlerts(ctx),
	}
}

// checkDataDir: the data directory holds the onion key, the hash key and
// the embedded store; nothing in it may be open to other users.
func (d *doctor) checkDataDir() check {
	dir := d.cfg.Core.DataDir
	c := check{Name: "data directory", Fix: fmt.Sprintf("chmod -R go-rwx %s (and chown -R flare:flare %s for the packaged service)", dir, dir)}
	fi, err := os.Stat(dir)
	if err != nil {
		c.Detail = fmt.Sprintf("%s: %v", dir, err)
		c.Fix = fmt.Sprintf("install -d -m 0700 -o flare -g flare %s (or start the gateway once)", dir)
		return c
	}
	if !fi.IsDir() {
		c.Detail = dir + " is not a directory"
		return c
	}
	var open []string
	err = filepath.WalkDir(dir, func(path string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		info, err := e.Info()
		if err != nil {
			return err
		}
		if info.Mode().Type()&fs.ModeSymlink == 0 && info.Mode().Perm()&0o077 != 0 {
			open = append(open, fmt.Sprintf("%s (%o)", path, info.Mode().Perm()))
		}
		return nil
	})
	if err != nil {
		c.Detail = fmt.Sprintf("cannot read %s: %v", dir, err)
		c.Fix = "run flare doctor as root or as the flare user"
		return c
	}
	if len(open) > 0 {
		c.Detail = "readable or writable by others: " + strings.Join(open, ", ")
		return c
	}
	c.OK, c.Detail = true, dir+" and every key in it are private to their owner"
	return c
}

// checkRecipients: the gateway can seal to the configured key-holders.
func (d *doctor) checkRecipients() check {
	c := check{Name: "recipients", Fix: "put the key-holders' age1… public keys (from flare keygen) in recipients or recipients_file"}
	rs, err := loadRecipients(&d.cfg.Core)
	if err != nil {
		c.Detail = err.Error()
		return c
	}
	if _, err := crypto.NewSealer(rs...); err != nil {
		c.Detail = err.Error()
		return c
	}
	c.OK, c.Detail = true, fmt.Sprintf("%d key-holder recipient(s), all valid", len(rs))
	return c
}

// checkQueue: an acknowledged tip survives a crash. The embedded store
// syncs every write; Redis must have appendonly yes and appendfsync
// always, as ops/redis.conf sets.
func (d *doctor) checkQueue(ctx context.Context) check {
	u := d.cfg.Core.QueueURL()
	c := check{Name: "queue durability"}
	if strings.HasPrefix(u, "file:") {
		c.OK, c.Detail = true, "embedded store: every acknowledged tip is fsync'd"
		return c
	}
	ro, _, err := flareredis.ParseURL(u)
	if err != nil {
		c.Detail, c.Fix = err.Error(), "give queue as redis://host:port/db or rediss://…"
		return c
	}
	ctx, cancel := context.WithTimeout(ctx, d.timeout)
	defer cancel()
	ro.DialTimeout, ro.ReadTimeout = d.timeout, d.timeout
	cl := goredis.NewClient(ro)
	defer cl.Close()
	c.Fix = "in redis.conf: appendonly yes and appendfsync always (see ops/redis.conf), then restart Redis"
	ao, err1 := cl.ConfigGet(ctx, "appendonly").Result()
	af, err2 := cl.ConfigGet(ctx, "appendfsync").Result()
	if err := errors.Join(err1, err2); err != nil {
		c.Detail = fmt.Sprintf("cannot read Redis's persistence settings: %v", err)
		c.Fix = "check that Redis runs and the URL (and its ACL user, which needs CONFIG GET for this check) is right"
		return c
	}
	if ao["appendonly"] != "yes" || af["appendfsync"] != "always" {
		c.Detail = fmt.Sprintf("Redis has appendonly %s, appendfsync %s: an acknowledged tip can be lost in a crash", ao["appendonly"], af["appendfsync"])
		return c
	}
	c.OK, c.Detail = true, "Redis: appendonly yes, appendfsync always"
	return c
}

var onionHostname = regexp.MustCompile(`^[a-z2-7]{56}\.onion$`)

// checkTor: tor answers on its control socket (or the gateway's own tor
// can be started) and the onion service has its address. It does not ask
// the Tor network whether the descriptor is published: that needs a
// client circuit, and the address in DATA-DIR/onion/hostname appears only
// once the gateway has made the service.
func (d *doctor) checkTor(ctx context.Context) check {
	oc := d.cfg.Onion
	c := check{Name: "tor and onion"}
	if !oc.Enabled() {
		c.Skipped, c.Detail = true, "onion service off (onion.enabled, onion.control_addr)"
		return c
	}
	if oc.ControlAddr != "" {
		network, addr := "tcp", oc.ControlAddr
		if p, ok := strings.CutPrefix(addr, "unix:"); ok {
			network, addr = "unix", p
		}
		c.Fix = "systemctl start tor; the gateway's user must be in the debian-tor group (the packaged unit is)"
		dl := net.Dialer{Timeout: d.timeout}
		conn, err := dl.DialContext(ctx, network, addr)
		if err != nil {
			c.Detail = fmt.Sprintf("tor's control port %s: %v", oc.ControlAddr, err)
			return c
		}
		conn.SetDeadline(time.Now().Add(d.timeout))
		fmt.Fprint(conn, "PROTOCOLINFO 1\r\n")
		line, err := bufio.NewReader(conn).ReadString('\n')
		conn.Close()
		if err != nil || !strings.HasPrefix(line, "250") {
			c.Detail = fmt.Sprintf("%s does not answer as tor's control port (%q, %v)", oc.ControlAddr, strings.TrimSpace(line), err)
			return c
		}
	} else {
		bin := oc.TorPath
		if bin == "" {
			bin = "tor"
		}
		if _, err := exec.LookPath(bin); err != nil {
			c.Detail, c.Fix = fmt.Sprintf("tor binary: %v", err), "apt-get install tor"
			return c
		}
	}
	host := filepath.Join(d.cfg.Core.DataDir, "onion", "hostname")
	b, err := os.ReadFile(host)
	if err != nil || !onionHostname.MatchString(strings.TrimSpace(string(b))) {
		c.Detail = fmt.Sprintf("no onion address in %s (%v)", host, err)
		c.Fix = "start the gateway (systemctl start flare-gateway) and read its log for the onion service"
		return c
	}
	c.OK, c.Detail = true, "tor answers; onion address "+strings.TrimSpace(string(b))
	return c
}

// checkTLS: the intake's certificate loads, matches its key, and is valid
// for at least minCertDays more days.
func (d *doctor) checkTLS() check {
	core := d.cfg.Core
	c := check{Name: "tls certificate", Fix: "renew it (certbot renew, or your ACME client); the gateway reloads it without a restart"}
	if core.TLSCert == "" {
		c.Skipped, c.Detail = true, "no tls_cert: HTTPS is a reverse proxy's job, or there are no webhooks"
		return c
	}
	pair, err := tls.LoadX509KeyPair(core.TLSCert, core.TLSKey)
	if err != nil {
		c.Detail, c.Fix = err.Error(), "point tls_cert and tls_key at a matching PEM pair readable by the gateway"
		return c
	}
	leaf, err := x509.ParseCertificate(pair.Certificate[0])
	if err != nil {
		c.Detail = err.Error()
		return c
	}
	now := d.now()
	left := leaf.NotAfter.Sub(now)
	switch {
	case now.Before(leaf.NotBefore):
		c.Detail = "not valid before " + leaf.NotBefore.UTC().Format(time.DateOnly)
	case left < minCertDays*24*time.Hour:
		c.Detail = fmt.Sprintf("expires %s: less than %d days left", leaf.NotAfter.UTC().Format(time.DateOnly), minCertDays)
	default:
		c.OK, c.Detail = true, fmt.Sprintf("valid until %s (%d days)", leaf.NotAfter.UTC().Format(time.DateOnly), int(left.Hours()/24))
	}
	return c
}

// checkClock: the kernel's clock is disciplined by NTP (adjtimex reports
// it synchronised: STA_UNSYNC clear and not TIME_ERROR). Tor refuses to
// work with a clock far off, and TLS and webhook signatures check times.
func (d *doctor) checkClock() check {
	c := check{Name: "clock", Fix: "apt-get install systemd-timesyncd (or chrony) and check timedatectl"}
	state, tx, err := d.clock()
	if err != nil {
		c.Detail = fmt.Sprintf("adjtimex: %v", err)
		return c
	}
	if state == unix.TIME_ERROR || tx.Status&unix.STA_UNSYNC != 0 {
		c.Detail = "the kernel reports the clock unsynchronised (adjtimex)"
		return c
	}
	c.OK, c.Detail = true, fmt.Sprintf("synchronised (adjtimex; estimated error %s)", time.Duration(tx.Esterror)*time.Microsecond)
	return c
}

// checkDisk: room for tips (and for SQLite's checkpoints) where the data
// directory lives.
func (d *doctor) checkDisk() check {
	dir := d.cfg.Core.DataDir
	c := check{Name: "disk space", Fix: "free space on the file system of " + dir + ", or move the data directory"}
	var st unix.Statfs_t
	if err := unix.Statfs(dir, &st); err != nil {
		c.Detail = fmt.Sprintf("%s: %v", dir, err)
		return c
	}
	free := st.Bavail * uint64(st.Bsize)
	if free < d.minFree {
		c.Detail = fmt.Sprintf("%s free, less than %s", humanize.IBytes(free), humanize.IBytes(d.minFree))
		return c
	}
	c.OK, c.Detail = true, humanize.IBytes(free)+" free"
	return c
}

// alertEnv are the alert targets' settings (declared by the alerting
// code); doctor reads them by their variable from the loaded settings, or
// from the environment when that code is not built in.
var alertEnv = []string{"FLARE_ALERT_NTFY_URL", "FLARE_ALERT_WEBHOOK_URL", "FLARE_ALERT_SMTP_URL"}

// checkAlerts: each configured alert target accepts a TCP connection. It
// sends nothing: a test alert would wake someone up.
func (d *doctor) checkAlerts(ctx context.Context) check {
	c := check{Name: "alert target", Fix: "check the alert URL, DNS and the firewall's outgoing rules"}
	values := map[string]string{}
	for _, kv := range d.environ {
		if k, v, ok := strings.Cut(kv, "="); ok {
			values[k] = v
		}
	}
	for _, s := range d.cfg.settings() {
		if v := s.Value.String(); v != "" {
			values[s.Env] = v
		}
	}
	var reached []string
	for _, env := range alertEnv {
		raw := values[env]
		if raw == "" {
			continue
		}
		addr, err := alertAddr(raw)
		if err != nil {
			c.Detail = fmt.Sprintf("%s: %v", env, err)
			return c
		}
		dl := net.Dialer{Timeout: d.timeout}
		conn, err := dl.DialContext(ctx, "tcp", addr)
		if err != nil {
			c.Detail = fmt.Sprintf("%s: %s does not accept connections (%v)", env, addr, err)
			return c
		}
		conn.Close()
		reached = append(reached, addr)
	}
	if len(reached) == 0 {
		c.Skipped, c.Detail = true, "no alert target configured"
		return c
	}
	c.OK, c.Detail = true, "reachable: "+strings.Join(reached, ", ")
	return c
}

// alertAddr is the host:port an alert URL connects to.
func alertAddr(raw string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return "", fmt.Errorf("not a URL with a host")
	}
	port := u.Port()
	if port == "" {
		port = map[string]string{"http": "80", "https": "443", "smtp": "25", "smtps": "465", "submission": "587"}[u.Scheme]
	}
	if port == "" {
		return "", fmt.Errorf("no port for scheme %q", u.Scheme)
	}
	return net.JoinHostPort(u.Hostname(), port), nil
}
