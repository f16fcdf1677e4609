package config

import (
	"io"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestExampleRoundTrip: the example lists every setting with its flag and
// variable; as written it changes nothing but the keys it was asked to
// set; and with every line uncommented it still loads, to the defaults.
func TestExampleRoundTrip(t *testing.T) {
	def := func() *sample {
		return &sample{Name: "default", List: []string{"a", "b"}, On: true, N: 7, Size: 256 << 20, Wait: 90 * 24 * time.Hour, Secret: "hunter2-secret"}
	}
	var b strings.Builder
	if err := Example(&b, "header line\n\nsecond", def().settings(), map[string]string{"limits.n": "9"}); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	if strings.Contains(out, "hunter2") {
		t.Fatal("the example printed a secret's value")
	}
	if !strings.HasPrefix(out, "# header line\n#\n# second\n") {
		t.Errorf("header not commented:\n%s", out)
	}
	for _, s := range def().settings() {
		if !strings.Contains(out, s.Help) || (s.Env != "" && !strings.Contains(out, "variable "+s.Env)) || (s.Flag != "" && !strings.Contains(out, "flag --"+s.Flag)) {
			t.Errorf("setting %s is not documented", s.Key)
		}
	}
	for _, want := range []string{`#size = "256MiB"`, `#wait = "90d"`, "#on = true", `#list = ["a", "b"]`, "\nn = 9\n", "#[texts.en]"} {
		if !strings.Contains(out, want) {
			t.Errorf("example lacks %q:\n%s", want, out)
		}
	}
	dir := t.TempDir()
	load := func(text string) *sample {
		t.Helper()
		file := filepath.Join(dir, "c.toml")
		if err := os.WriteFile(file, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		s := &sample{}
		if _, err := Load("test", s.settings(), []string{"--config", file}, nil, io.Discard); err != nil {
			t.Fatalf("example does not load: %v\n%s", err, text)
		}
		return s
	}
	if got := load(out); got.N != 9 || got.Name != "" {
		t.Errorf("as written, the example must set only n: %+v", got)
	}
	uncomment := regexp.MustCompile(`(?m)^#([a-z_]+ = .*)$`)
	got := load(uncomment.ReplaceAllString(out, "$1"))
	want := def()
	want.N, want.Secret = 9, ""
	if !reflect.DeepEqual(got, want) {
		t.Errorf("uncommented example loads as\n%+v\nwant the defaults\n%+v", got, want)
	}
	if err := Example(io.Discard, "", def().settings(), map[string]string{"nope": "1"}); err == nil {
		t.Error("setting an unknown key in the example was accepted")
	}
}
