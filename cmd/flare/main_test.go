package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// flareBin is the flare binary built once for the tests that run it as a
// separate process, as an operator would.
var flareBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "flare-bin-")
	if err != nil {
		panic(err)
	}
	flareBin = filepath.Join(dir, "flare")
	out, err := exec.Command("go", "build", "-o", flareBin, ".").CombinedOutput()
	if err != nil {
		os.Stderr.Write(out)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// runApp runs a subcommand in-process and returns its exit code and output.
func runApp(t *testing.T, environ []string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	a := &app{stdin: strings.NewReader(""), stdout: &out, stderr: &errb, environ: environ}
	code = a.main(context.Background(), args)
	return code, out.String(), errb.String()
}

func TestHelpListsSubcommands(t *testing.T) {
	code, _, stderr := runApp(t, nil, "help")
	if code != 0 {
		t.Fatalf("exit %d", code)
	}
	for _, c := range []string{"gateway", "console", "keygen", "demo", "version"} {
		if !strings.Contains(stderr, c) {
			t.Errorf("help does not list %q", c)
		}
	}
	if code, _, _ := runApp(t, nil, "frobnicate"); code != 2 {
		t.Errorf("unknown command: exit %d, want 2", code)
	}
}
