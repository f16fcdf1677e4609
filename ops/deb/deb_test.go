// Package deb holds the Debian package's description (nfpm.yaml) and
// maintainer scripts; its tests build the package with "make deb" and
// check what it installs.
package deb

import (
	"archive/tar"
	"bytes"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

const unitName = "flare-gateway.service"

// buildDeb runs "make deb" into a temporary directory and returns the
// package's path.
func buildDeb(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds the Debian package; not in -short")
	}
	out := t.TempDir()
	cmd := exec.Command("make", "-C", "../..", "deb", "DEB_DIR="+out, "FLARE_VERSION=1.2.3~test")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("make deb: %v\n%s", err, b)
	}
	debs, _ := filepath.Glob(filepath.Join(out, "flare_*.deb"))
	if len(debs) != 1 {
		t.Fatalf("make deb made %v", debs)
	}
	return debs[0]
}

func need(t *testing.T, tools ...string) {
	t.Helper()
	for _, tool := range tools {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s is needed (.ci/run installs it): %v", tool, err)
		}
	}
}

// TestDeb builds the package, checks the owner, group and mode of every
// file it installs, extracts it into a scratch root and checks the
// hardened unit there with systemd-analyze.
func TestDeb(t *testing.T) {
	need(t, "dpkg-deb", "systemd-analyze")
	deb := buildDeb(t)

	// Owners and modes, as dpkg will set them, from the data archive.
	fsys, err := exec.Command("dpkg-deb", "--fsys-tarfile", deb).Output()
	if err != nil {
		t.Fatal(err)
	}
	type entry struct {
		mode         int64
		owner, group string
		dir          bool
	}
	got := map[string]entry{}
	tr := tar.NewReader(bytes.NewReader(fsys))
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		name := "/" + strings.TrimSuffix(strings.TrimPrefix(h.Name, "./"), "/")
		got[name] = entry{h.Mode & 0o7777, h.Uname, h.Gname, h.Typeflag == tar.TypeDir}
	}
	want := map[string]entry{
		"/usr/bin/flare":                          {0o755, "root", "root", false},
		"/etc/flare":                              {0o755, "root", "root", true},
		"/etc/flare/flare.toml":                   {0o640, "root", "flare", false},
		"/var/lib/flare":                          {0o700, "flare", "flare", true},
		"/lib/systemd/system/" + unitName:         {0o644, "root", "root", false},
		"/etc/tor/torrc.d/flare.conf.example":     {0o644, "root", "root", false},
		"/usr/share/doc/flare/flare.example.toml": {0o644, "root", "root", false},
	}
	for name, w := range want {
		g, ok := got[name]
		if !ok {
			t.Errorf("%s is not in the package", name)
			continue
		}
		if g != w {
			t.Errorf("%s: mode %o %s:%s dir=%v, want %o %s:%s dir=%v", name, g.mode, g.owner, g.group, g.dir, w.mode, w.owner, w.group, w.dir)
		}
	}

	// Control: dependencies, conffiles, maintainer scripts.
	ctrl := t.TempDir()
	if b, err := exec.Command("dpkg-deb", "--control", deb, ctrl).CombinedOutput(); err != nil {
		t.Fatalf("dpkg-deb --control: %v\n%s", err, b)
	}
	control, _ := os.ReadFile(filepath.Join(ctrl, "control"))
	for _, want := range []string{"Package: flare", "Version: 1.2.3~test", "Depends: tor, adduser", "Pre-Depends: adduser"} {
		if !strings.Contains(string(control), want) {
			t.Errorf("control lacks %q:\n%s", want, control)
		}
	}
	conffiles, _ := os.ReadFile(filepath.Join(ctrl, "conffiles"))
	for _, f := range []string{"/etc/flare/flare.toml", "/etc/tor/torrc.d/flare.conf.example"} {
		if !strings.Contains(string(conffiles), f) {
			t.Errorf("%s is not a conffile (an edit would be lost on upgrade): %q", f, conffiles)
		}
	}
	for _, s := range []string{"preinst", "postinst", "prerm", "postrm"} {
		fi, err := os.Stat(filepath.Join(ctrl, s))
		if err != nil || fi.Mode()&0o111 == 0 {
			t.Errorf("maintainer script %s missing or not executable: %v", s, err)
		}
	}

	// Extract into a scratch root, as dpkg would unpack it.
	root := t.TempDir()
	if b, err := exec.Command("dpkg-deb", "-x", deb, root).CombinedOutput(); err != nil {
		t.Fatalf("dpkg-deb -x: %v\n%s", err, b)
	}
	installed, _ := os.ReadFile(filepath.Join(root, "etc/flare/flare.toml"))
	example, _ := os.ReadFile("../flare.example.toml")
	if len(example) == 0 || !bytes.Equal(installed, example) {
		t.Error("/etc/flare/flare.toml is not ops/flare.example.toml")
	}
	if out, err := exec.Command(filepath.Join(root, "usr/bin/flare"), "version").Output(); err != nil || !strings.HasPrefix(string(out), "flare ") {
		t.Errorf("the packaged binary does not run: %q %v", out, err)
	}
	if fi, err := os.Stat(filepath.Join(root, "var/lib/flare")); err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("/var/lib/flare extracted as %v, %v", fi.Mode(), err)
	}

	unit, err := os.ReadFile(filepath.Join(root, "lib/systemd/system", unitName))
	if err != nil {
		t.Fatal(err)
	}
	// The hardening the issue names, exactly.
	for _, line := range []string{
		"ProtectSystem=strict", "ProtectHome=yes", "PrivateTmp=yes", "PrivateDevices=yes",
		"NoNewPrivileges=yes", "MemoryDenyWriteExecute=yes", "RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6",
		"SystemCallFilter=@system-service", "CapabilityBoundingSet=", "UMask=0077", "ReadWritePaths=/var/lib/flare",
		"User=flare",
	} {
		if !regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(line) + `$`).Match(unit) {
			t.Errorf("unit lacks %q", line)
		}
	}

	// systemd-analyze needs the targets the unit refers to: give the
	// scratch root this machine's units, then ours over them.
	sysdir := filepath.Join(root, "lib/systemd/system")
	if b, err := exec.Command("cp", "-an", "/lib/systemd/system/.", sysdir).CombinedOutput(); err != nil {
		t.Fatalf("copy units: %v\n%s", err, b)
	}
	verify := exec.Command("systemd-analyze", "verify", "--root="+root, unitName)
	verify.Dir = root
	if b, err := verify.CombinedOutput(); err != nil || bytes.Contains(b, []byte(unitName)) {
		t.Errorf("systemd-analyze verify: %v\n%s", err, b)
	}
	sec := exec.Command("systemd-analyze", "security", "--offline=yes", "--root="+root, unitName)
	sec.Dir = root
	b, err := sec.CombinedOutput()
	if err != nil {
		t.Fatalf("systemd-analyze security: %v\n%s", err, b)
	}
	m := regexp.MustCompile(`Overall exposure level for ` + regexp.QuoteMeta(unitName) + `: ([0-9.]+) (\S+)`).FindSubmatch(b)
	if m == nil {
		t.Fatalf("no exposure level in:\n%s", b)
	}
	score, _ := strconv.ParseFloat(string(m[1]), 64)
	t.Logf("systemd-analyze security: %s %s", m[1], m[2])
	if score > 2.0 || string(m[2]) != "OK" {
		t.Errorf("exposure %s %s, want 2.0 or lower (OK)\n%s", m[1], m[2], b)
	}
}
