package deb

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// runScript runs a maintainer script with every command it may call
// (adduser, chown, rm, systemctl, …) replaced by one that only records its
// arguments, and returns the record: what the script would have done to
// the machine.
func runScript(t *testing.T, script string, env []string, args ...string) string {
	t.Helper()
	bin := t.TempDir()
	log := filepath.Join(t.TempDir(), "calls")
	for _, c := range []string{"adduser", "useradd", "install", "chown", "chmod", "chgrp", "systemctl", "rm", "rmdir", "deb-systemd-helper"} {
		body := "#!/bin/sh\necho \"" + c + " $*\" >> " + log + "\n"
		if err := os.WriteFile(filepath.Join(bin, c), []byte(body), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	// getent: the flare user does not exist yet.
	os.WriteFile(filepath.Join(bin, "getent"), []byte("#!/bin/sh\nexit 2\n"), 0o755)
	os.WriteFile(filepath.Join(bin, "cat"), []byte("#!/bin/sh\nexec /bin/cat \"$@\"\n"), 0o755)
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(sh, append([]string{script}, args...)...)
	cmd.Env = append([]string{"PATH=" + bin}, env...)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s %v: %v\n%s", script, args, err, out)
	}
	b, _ := os.ReadFile(log)
	return string(b)
}

// TestMaintainerScripts: installing creates the flare user and hands it
// the data directory (not recursively: the keys keep their own modes);
// upgrading, removing and purging leave the data directory's keys alone
// unless FLARE_PURGE_DATA=yes is given to the purge.
func TestMaintainerScripts(t *testing.T) {
	tests := []struct {
		name, script string
		env          []string
		args         []string
		want         []string
		never        []string
	}{
		{"preinst install", "preinst", nil, []string{"install"},
			[]string{"adduser --system --group --home /var/lib/flare"}, []string{"rm "}},
		{"postinst configure", "postinst", nil, []string{"configure", ""},
			[]string{"chown flare:flare /var/lib/flare", "chmod 0700 /var/lib/flare", "chown root:flare /etc/flare/flare.toml", "chmod 0640 /etc/flare/flare.toml"},
			[]string{"rm ", "-R", "-r "}},
		{"postinst upgrade", "postinst", nil, []string{"configure", "0.9"},
			[]string{"chown flare:flare /var/lib/flare"}, []string{"rm ", "-R"}},
		{"prerm upgrade", "prerm", nil, []string{"upgrade", "1.0"}, nil, []string{"rm ", "stop"}},
		{"postrm remove", "postrm", nil, []string{"remove"}, nil, []string{"rm "}},
		{"postrm upgrade", "postrm", nil, []string{"upgrade", "1.0"}, nil, []string{"rm "}},
		{"postrm purge keeps the keys", "postrm", nil, []string{"purge"}, nil, []string{"rm -rf /var/lib/flare"}},
		{"postrm purge asked to delete", "postrm", []string{"FLARE_PURGE_DATA=yes"}, []string{"purge"}, []string{"rm -rf /var/lib/flare"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			calls := runScript(t, tt.script, tt.env, tt.args...)
			for _, w := range tt.want {
				if !strings.Contains(calls, w) {
					t.Errorf("did not run %q; ran:\n%s", w, calls)
				}
			}
			for _, n := range tt.never {
				if strings.Contains(calls, n) {
					t.Errorf("ran %q; ran:\n%s", n, calls)
				}
			}
		})
	}
}
