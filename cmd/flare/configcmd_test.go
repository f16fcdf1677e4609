package main

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// examplePath is the example configuration the Debian package installs as
// /etc/flare/flare.toml.
const examplePath = "../../ops/flare.example.toml"

// TestExampleConfigUpToDate: ops/flare.example.toml is exactly what
// "flare config example" writes, so it cannot fall out of date with the
// settings. After adding a setting, run "make example-config".
func TestExampleConfigUpToDate(t *testing.T) {
	want, err := os.ReadFile(examplePath)
	if err != nil {
		t.Fatal(err)
	}
	code, got, stderr := runApp(t, nil, "config", "example")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if got != string(want) {
		t.Fatalf("ops/flare.example.toml is out of date with the settings: run \"make example-config\"\n%s", firstDiff(string(want), got))
	}
	cfg := defaultGatewayConfig()
	for _, s := range cfg.settings() {
		name := s.Key[strings.LastIndex(s.Key, ".")+1:]
		if !strings.Contains(got, s.Help) || !regexp.MustCompile(`(?m)^#?\[?"?(`+regexp.QuoteMeta(name)+`|`+regexp.QuoteMeta(s.Key)+`)`).MatchString(got) {
			t.Errorf("setting %s missing from the example", s.Key)
		}
		if s.Env != "" && !strings.Contains(got, "variable "+s.Env) {
			t.Errorf("setting %s: variable %s not named", s.Key, s.Env)
		}
		if s.Flag != "" && !strings.Contains(got, "flag --"+s.Flag) {
			t.Errorf("setting %s: flag --%s not named", s.Key, s.Flag)
		}
	}
}

// TestExampleConfigLoads: the gateway loads the example as installed, and
// with every commented line uncommented too.
func TestExampleConfigLoads(t *testing.T) {
	text, err := os.ReadFile(examplePath)
	if err != nil {
		t.Fatal(err)
	}
	uncommented := regexp.MustCompile(`(?m)^#([a-z_]+ = .*)$`).ReplaceAll(text, []byte("$1"))
	for name, body := range map[string][]byte{"as installed": text, "all uncommented": uncommented} {
		file := filepath.Join(t.TempDir(), "flare.toml")
		os.WriteFile(file, body, 0o600)
		cfg := defaultGatewayConfig()
		if _, err := loadGatewayConfig(cfg, []string{"--config", file}, nil); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if cfg.Core.DataDir != "/var/lib/flare" || cfg.Onion.ControlAddr != "unix:/run/tor/control" {
			t.Errorf("%s: data dir %q, control %q", name, cfg.Core.DataDir, cfg.Onion.ControlAddr)
		}
		def := defaultGatewayConfig()
		if cfg.Core.Limits != def.Core.Limits || cfg.Telegram.DraftIdle != def.Telegram.DraftIdle || cfg.SMS.DedupeTTL != def.SMS.DedupeTTL {
			t.Errorf("%s: defaults changed by the example", name)
		}
	}
}

func TestConfigCommandErrors(t *testing.T) {
	for _, args := range [][]string{{"config"}, {"config", "sample"}, {"config", "example", "extra"}} {
		if code, _, _ := runApp(t, nil, args...); code != 2 {
			t.Errorf("%v: exit %d, want 2", args, code)
		}
	}
}

// firstDiff shows the first line where two texts differ.
func firstDiff(a, b string) string {
	al, bl := strings.Split(a, "\n"), strings.Split(b, "\n")
	for i := 0; i < len(al) || i < len(bl); i++ {
		var x, y string
		if i < len(al) {
			x = al[i]
		}
		if i < len(bl) {
			y = bl[i]
		}
		if x != y {
			return fmt.Sprintf("line %d:", i+1) + "\n  file:      " + x + "\n  generated: " + y
		}
	}
	return ""
}
