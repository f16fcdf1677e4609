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
	code, stdout, _ := runApp(t, nil, "help")
	if code != 0 {
		t.Fatalf("exit %d", code)
	}
	for _, c := range []string{"gateway", "console", "keygen", "demo", "version"} {
		if !strings.Contains(stdout, c) {
			t.Errorf("help does not list %q", c)
		}
	}
	if code, _, _ := runApp(t, nil, "frobnicate"); code != 2 {
		t.Errorf("unknown command: exit %d, want 2", code)
	}
}

// TestHelpGoesToStdout: asked-for help is the command's output (stdout,
// exit 0), so that "flare gateway --help | less" works; a missing command
// is an error (stderr, exit 2). Run as a separate process, as an operator
// would.
func TestHelpGoesToStdout(t *testing.T) {
	tests := []struct {
		args     []string
		code     int
		inStdout string
	}{
		{[]string{"--help"}, 0, "Commands:"},
		{[]string{"help"}, 0, "Commands:"},
		{[]string{"gateway", "--help"}, 0, "FLARE_DATA_DIR"},
		{[]string{"gateway", "-h"}, 0, "a flag\nbeats a variable, which beats the file"},
		{[]string{"console", "--help"}, 0, "flare console COMMAND"},
		{[]string{"console", "list", "--help"}, 0, "FLARE_IDENTITY"},
		{[]string{"console", "serve", "--help"}, 0, "FLARE_IDENTITY"},
		{[]string{"keygen", "--help"}, 0, "flare keygen"},
		{[]string{"demo", "--help"}, 0, "flare demo"},
		{[]string{}, 2, ""},
		{[]string{"keygen", "--nope"}, 2, ""},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			var out, errb bytes.Buffer
			cmd := exec.Command(flareBin, tt.args...)
			cmd.Stdout, cmd.Stderr = &out, &errb
			cmd.Env = []string{"PATH=" + os.Getenv("PATH")}
			err := cmd.Run()
			code := 0
			if ee, ok := err.(*exec.ExitError); ok {
				code = ee.ExitCode()
			} else if err != nil {
				t.Fatal(err)
			}
			if code != tt.code {
				t.Fatalf("exit %d, want %d; stderr %q", code, tt.code, errb.String())
			}
			if tt.code == 0 {
				if !strings.Contains(out.String(), tt.inStdout) || errb.Len() != 0 {
					t.Errorf("stdout %q (want %q), stderr %q (want empty)", out.String(), tt.inStdout, errb.String())
				}
			} else if out.Len() != 0 || errb.Len() == 0 {
				t.Errorf("an error must go to stderr only: stdout %q, stderr %q", out.String(), errb.String())
			}
		})
	}
}
