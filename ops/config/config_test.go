package config

import (
	"errors"
	"flag"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

type sample struct {
	Name   string
	Secret string
	List   []string
	On     bool
	N      int
	Size   int64
	Wait   time.Duration
	Texts  map[string]map[string]string
}

func (s *sample) settings() []Setting {
	return []Setting{
		{Key: "name", Env: "FLARE_NAME", Flag: "name", Help: "a name", Value: String(&s.Name)},
		{Key: "secret", Env: "FLARE_SECRET", Help: "a secret", Secret: true, Value: String(&s.Secret)},
		{Key: "list", Env: "FLARE_LIST", Flag: "item", Help: "items", Value: Strings(&s.List)},
		{Key: "on", Env: "FLARE_ON", Flag: "on", Help: "switch", Value: Bool(&s.On)},
		{Key: "limits.n", Env: "FLARE_N", Flag: "n", Help: "count", Value: Int(&s.N)},
		{Key: "limits.size", Env: "FLARE_SIZE", Flag: "size", Help: "size", Value: Bytes(&s.Size)},
		{Key: "wait", Env: "FLARE_WAIT", Flag: "wait", Help: "wait", Value: Duration(&s.Wait)},
		{Key: "texts", Help: "texts", Value: Texts(&s.Texts)},
	}
}

func TestLoadSources(t *testing.T) {
	file := filepath.Join(t.TempDir(), "c.toml")
	os.WriteFile(file, []byte("secret = \"from-file\"\nlist = [\"f1\", \"f2\"]\n[limits]\nsize = \"2MiB\"\n[texts.km]\ntitle = \"ផ្ញើ\"\n"), 0o600)
	s := &sample{Name: "default", N: 7}
	env := []string{"FLARE_NAME=env", "FLARE_LIST=e1, e2", "FLARE_WAIT=3s", "FLARE_SECRET=from-env"}
	rest, err := Load("test", s.settings(), []string{"--config", file, "--item", "a", "--item", "b", "--on", "pos"}, env, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if len(rest) != 1 || rest[0] != "pos" {
		t.Errorf("positional %v", rest)
	}
	if s.Name != "env" || s.Secret != "from-env" || s.N != 7 || s.Size != 2<<20 || s.Wait != 3*time.Second || !s.On {
		t.Errorf("loaded %+v", s)
	}
	if strings.Join(s.List, ",") != "a,b" {
		t.Errorf("flags must replace the list, got %v", s.List)
	}
	if s.Texts["km"]["title"] != "ផ្ញើ" {
		t.Errorf("texts %v", s.Texts)
	}
}

func TestLoadErrors(t *testing.T) {
	tests := []struct {
		name string
		args []string
		env  []string
		want string
	}{
		{"bad int flag", []string{"--n", "seven"}, nil, "whole number"},
		{"bad size env", nil, []string{"FLARE_SIZE=lots"}, "FLARE_SIZE"},
		{"bad bool env", nil, []string{"FLARE_ON=maybe"}, "true or false"},
		{"bad duration", []string{"--wait", "soon"}, nil, "duration"},
		{"secret has no flag", []string{"--secret", "x"}, nil, "secret"},
		{"unknown flag", []string{"--nope"}, nil, "nope"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := &sample{}
			_, err := Load("test", s.settings(), tt.args, tt.env, io.Discard)
			if !errors.Is(err, ErrUsage) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("got %v, want an ErrUsage mentioning %q", err, tt.want)
			}
		})
	}
}

func TestUsageHidesSecrets(t *testing.T) {
	s := &sample{Secret: "hunter2-very-secret", Name: "shown"}
	var b strings.Builder
	_, err := Load("test", s.settings(), []string{"--help"}, nil, &b)
	if !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("got %v", err)
	}
	out := b.String()
	if strings.Contains(out, "hunter2") {
		t.Error("usage printed a secret's value")
	}
	for _, want := range []string{"--name", "FLARE_SECRET", "limits.size", "(default shown)", "no flag"} {
		if !strings.Contains(out, want) {
			t.Errorf("usage lacks %q", want)
		}
	}
}

func TestUnknownEnv(t *testing.T) {
	s := &sample{}
	got := UnknownEnv(s.settings(), []string{"FLARE_NAME=x", "FLARE_NAEM=y", "HOME=/root"})
	if len(got) != 1 || got[0] != "FLARE_NAEM" {
		t.Fatalf("got %v", got)
	}
}

// TestLoadErrorsHideSecrets: a secret setting whose value does not parse
// is named, never quoted, from the environment or a file.
func TestLoadErrorsHideSecrets(t *testing.T) {
	var wait time.Duration
	settings := []Setting{{Key: "secret_wait", Env: "FLARE_SECRET_WAIT", Help: "a secret duration", Secret: true, Value: Duration(&wait)}}
	file := filepath.Join(t.TempDir(), "c.toml")
	os.WriteFile(file, []byte("secret_wait = \"hunter2-very-secret\"\n"), 0o600)
	for name, load := range map[string]func() error{
		"env": func() error {
			_, err := Load("test", settings, nil, []string{"FLARE_SECRET_WAIT=hunter2-very-secret"}, io.Discard)
			return err
		},
		"file": func() error {
			_, err := Load("test", settings, []string{"--config", file}, nil, io.Discard)
			return err
		},
	} {
		err := load()
		if !errors.Is(err, ErrUsage) || strings.Contains(err.Error(), "hunter2") || !strings.Contains(err.Error(), "not shown") {
			t.Errorf("%s: got %v, want an ErrUsage that names the setting but not its value", name, err)
		}
	}
}

// TestPrecedence is the order operators expect: a flag beats a FLARE_*
// variable, which beats the file, which beats the default.
func TestPrecedence(t *testing.T) {
	file := filepath.Join(t.TempDir(), "c.toml")
	if err := os.WriteFile(file, []byte("name = \"file\"\nlist = [\"file\"]\non = false\n[limits]\nsize = \"1MiB\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name      string
		flag, env bool
		file      bool
		want      string
	}{
		{"default only", false, false, false, "default"},
		{"file beats default", false, false, true, "file"},
		{"env beats file", false, true, true, "env"},
		{"env beats default", false, true, false, "env"},
		{"flag beats env and file", true, true, true, "flag"},
		{"flag beats file", true, false, true, "flag"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := &sample{Name: "default", List: []string{"default"}, Size: 7}
			var args, env []string
			if tt.file {
				args = append(args, "--config", file)
			}
			if tt.env {
				env = append(env, "FLARE_NAME=env", "FLARE_LIST=env", "FLARE_SIZE=2MiB")
			}
			if tt.flag {
				args = append(args, "--name", "flag", "--item", "flag", "--size", "3MiB")
			}
			if _, err := Load("test", s.settings(), args, env, io.Discard); err != nil {
				t.Fatal(err)
			}
			wantSize := map[string]int64{"default": 7, "file": 1 << 20, "env": 2 << 20, "flag": 3 << 20}[tt.want]
			if s.Name != tt.want || strings.Join(s.List, ",") != tt.want || s.Size != wantSize {
				t.Errorf("name %q list %v size %d, want %q everywhere (size %d)", s.Name, s.List, s.Size, tt.want, wantSize)
			}
		})
	}
	// FLARE_CONFIG names the file as well as --config does, and the
	// variables still beat it.
	s := &sample{}
	if _, err := Load("test", s.settings(), nil, []string{"FLARE_CONFIG=" + file, "FLARE_SIZE=2MiB"}, io.Discard); err != nil {
		t.Fatal(err)
	}
	if s.Name != "file" || s.Size != 2<<20 {
		t.Errorf("FLARE_CONFIG: name %q size %d", s.Name, s.Size)
	}
}

func TestHumanUnits(t *testing.T) {
	sizes := []struct {
		in   string
		want int64
		show string
	}{
		{"256MiB", 256 << 20, "256MiB"},
		{"256 MiB", 256 << 20, "256MiB"},
		{"1GiB", 1 << 30, "1GiB"},
		{"4096", 4096, "4KiB"},
		{"1000", 1000, "1000B"},
		{"1.5GiB", 3 << 29, "1.5GiB"},
		{"2MB", 2000000, "2000000B"},
	}
	for _, tt := range sizes {
		var n int64
		v := Bytes(&n)
		if err := v.Set(tt.in); err != nil || n != tt.want {
			t.Errorf("size %q: %d, %v; want %d", tt.in, n, err, tt.want)
			continue
		}
		if got := v.String(); got != tt.show {
			t.Errorf("size %q shows as %q, want %q", tt.in, got, tt.show)
		}
		var back int64
		if err := Bytes(&back).Set(v.String()); err != nil || back != n {
			t.Errorf("size %q does not read back from %q: %d, %v", tt.in, v.String(), back, err)
		}
	}
	durs := []struct {
		in   string
		want time.Duration
		show string
	}{
		{"90d", 90 * 24 * time.Hour, "90d"},
		{"1d12h", 36 * time.Hour, "36h"},
		{"48h", 48 * time.Hour, "2d"},
		{"5m", 5 * time.Minute, "5m"},
		{"1h30m", 90 * time.Minute, "1h30m"},
		{"30s", 30 * time.Second, "30s"},
		{"0", 0, "0s"},
	}
	for _, tt := range durs {
		var d time.Duration
		v := Duration(&d)
		if err := v.Set(tt.in); err != nil || d != tt.want {
			t.Errorf("duration %q: %v, %v; want %v", tt.in, d, err, tt.want)
			continue
		}
		if got := v.String(); got != tt.show {
			t.Errorf("duration %q shows as %q, want %q", tt.in, got, tt.show)
		}
	}
	for _, bad := range []string{"soon", "-5s", "d", "5x", "-1d", "1d-5h"} {
		var d time.Duration
		if err := Duration(&d).Set(bad); err == nil {
			t.Errorf("duration %q accepted as %v", bad, d)
		}
	}
	for _, bad := range []string{"lots", "-1", "5XB"} {
		var n int64
		if err := Bytes(&n).Set(bad); err == nil {
			t.Errorf("size %q accepted as %d", bad, n)
		}
	}
	// Usage shows defaults in the same units.
	s := &sample{Size: 256 << 20, Wait: 90 * 24 * time.Hour}
	var b strings.Builder
	Load("test", s.settings(), []string{"--help"}, nil, &b)
	for _, want := range []string{"(default 256MiB)", "(default 90d)", "a flag\nbeats a variable, which beats the file"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("usage lacks %q:\n%s", want, b.String())
		}
	}
}
