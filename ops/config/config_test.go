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
	if s.Name != "env" || s.Secret != "from-file" || s.N != 7 || s.Size != 2<<20 || s.Wait != 3*time.Second || !s.On {
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
