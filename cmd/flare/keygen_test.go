package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/flarehq/flare/crypto"
)

func TestKeygen(t *testing.T) {
	for _, pq := range []bool{false, true} {
		dir := t.TempDir()
		path := filepath.Join(dir, "identity.txt")
		args := []string{"keygen", "-o", path}
		prefix := "age1"
		if pq {
			args = append(args, "--pq")
			prefix = "age1pq1"
		}
		code, stdout, stderr := runApp(t, nil, args...)
		if code != 0 {
			t.Fatalf("exit %d: %s", code, stderr)
		}
		if stdout != "" {
			t.Errorf("secret key printed to stdout with -o")
		}
		pub, ok := strings.CutPrefix(strings.TrimSpace(stderr), "Public key: ")
		if !ok || !strings.HasPrefix(pub, prefix) {
			t.Fatalf("stderr %q: want Public key: %s…", stderr, prefix)
		}
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != 0o600 {
			t.Errorf("identity file mode %v, want 0600", fi.Mode().Perm())
		}
		data, _ := os.ReadFile(path)
		lines := strings.Split(strings.TrimSpace(string(data)), "\n")
		if len(lines) != 3 || !strings.HasPrefix(lines[0], "# created: ") || lines[1] != "# public key: "+pub || !strings.HasPrefix(lines[2], "AGE-SECRET-KEY-") {
			t.Fatalf("not age-keygen's format:\n%s", data)
		}
		if _, err := crypto.LoadIdentities(path, nil); err != nil {
			t.Fatal(err)
		}
		// A second run must not overwrite it.
		code, _, stderr = runApp(t, nil, args...)
		if code == 0 || !strings.Contains(stderr, "already exists") {
			t.Fatalf("overwrite: exit %d, %q", code, stderr)
		}
		again, _ := os.ReadFile(path)
		if string(again) != string(data) {
			t.Fatal("identity file changed")
		}
	}
}
