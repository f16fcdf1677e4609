package vulncheck

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// root is the repository root, where the Makefile is.
const root = "../.."

// makeVulncheck runs `make vulncheck` with vars and returns its exit code
// and everything it printed.
func makeVulncheck(t *testing.T, vars ...string) (int, string) {
	t.Helper()
	cmd := exec.Command("make", append([]string{"--no-print-directory", "-C", root, "vulncheck"}, vars...)...)
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	switch {
	case err == nil:
		return 0, string(out)
	case errors.As(err, &ee):
		return ee.ExitCode(), string(out)
	}
	t.Fatalf("make vulncheck: %v\n%s", err, out)
	return 0, ""
}

// TestUnreachableDatabaseFails: with no database to reach, make vulncheck
// says so and fails; it never passes having checked nothing.
func TestUnreachableDatabaseFails(t *testing.T) {
	for name, db := range map[string]string{
		"nothing listening": "http://127.0.0.1:1",
		"no such host":      "https://vuln.invalid",
		"empty directory":   "file://" + t.TempDir(),
		"not a URL":         "vuln.go.dev",
	} {
		t.Run(name, func(t *testing.T) {
			code, out := makeVulncheck(t, "VULNDB="+db, "PKGS=./ops/vulncheck")
			if code == 0 {
				t.Fatalf("make vulncheck passed:\n%s", out)
			}
			for _, want := range []string{"cannot reach the Go vulnerability database", "NOTHING WAS CHECKED"} {
				if !strings.Contains(out, want) {
					t.Errorf("output lacks %q:\n%s", want, out)
				}
			}
		})
	}
}

// writeDB writes a vulnerability database in the layout of vuln.go.dev:
// index/db.json, index/modules.json and one OSV entry per vuln.
func writeDB(t *testing.T, modules string, entries map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "index"), 0o755)
	os.MkdirAll(filepath.Join(dir, "ID"), 0o755)
	os.WriteFile(filepath.Join(dir, "index", "db.json"), []byte(`{"modified":"2026-01-01T00:00:00Z"}`), 0o644)
	os.WriteFile(filepath.Join(dir, "index", "modules.json"), []byte(modules), 0o644)
	for id, osv := range entries {
		os.WriteFile(filepath.Join(dir, "ID", id+".json"), []byte(osv), 0o644)
	}
	return "file://" + dir
}

// TestLocalDatabase runs govulncheck for real against local databases:
// one with no entries passes; one listing a vulnerability in the TOML
// parser that ops/config calls fails and names it.
func TestLocalDatabase(t *testing.T) {
	code, out := makeVulncheck(t, "VULNDB="+writeDB(t, "[]", nil), "PKGS=./ops/config")
	if code != 0 || !strings.Contains(out, "No vulnerabilities found") {
		t.Fatalf("empty database: exit %d\n%s", code, out)
	}

	const osv = `{"schema_version":"1.3.1","id":"GO-2099-0001","modified":"2026-01-01T00:00:00Z","published":"2026-01-01T00:00:00Z",
"summary":"Test entry: TOML decoding","details":"A test vulnerability for the vulncheck target.",
"affected":[{"package":{"name":"github.com/BurntSushi/toml","ecosystem":"Go"},
"ranges":[{"type":"SEMVER","events":[{"introduced":"0"}]}],
"ecosystem_specific":{"imports":[{"path":"github.com/BurntSushi/toml","symbols":["DecodeFile"]}]}}],
"database_specific":{"url":"https://pkg.go.dev/vuln/GO-2099-0001"}}`
	db := writeDB(t, `[{"path":"github.com/BurntSushi/toml","vulns":[{"id":"GO-2099-0001","modified":"2026-01-01T00:00:00Z"}]}]`,
		map[string]string{"GO-2099-0001": osv})
	code, out = makeVulncheck(t, "VULNDB="+db, "PKGS=./ops/config")
	if code == 0 || !strings.Contains(out, "GO-2099-0001") {
		t.Fatalf("database with a reachable vulnerability: exit %d\n%s", code, out)
	}
}
