// Package config loads Flare's settings once, from (in order of precedence)
// command-line flags, FLARE_* environment variables, a TOML file and
// defaults, and hands them down as plain structs. That is the order
// container and service operators expect: the file is the deployment's
// baseline, the environment (a unit's Environment=, a container's -e)
// adjusts it, and a flag typed by hand wins over both.
//
// Every setting is declared once, as a Setting: its TOML key, its
// environment variable, its flag (none for secrets, which must never show in
// ps), its help text and where its value goes. Each part of Flare that has
// settings (the gateway core, each channel) lists its own; Load applies the
// four sources to all of them, and Usage documents all of them.
//
// Packages never read the environment themselves: only Load does, from the
// environ it is given.
package config

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/BurntSushi/toml"
	"github.com/dustin/go-humanize"
)

// Setting is one configurable value.
type Setting struct {
	// Key is the TOML key, dotted for tables: "telegram.token".
	Key string
	// Env is the environment variable: "FLARE_TELEGRAM_TOKEN".
	Env string
	// Flag is the command-line flag without dashes, or "" for a setting
	// that must not be given on the command line (a secret).
	Flag string
	Help string
	// Secret settings are never printed with their value.
	Secret bool
	Value  Value
}

// hide returns err as is for an ordinary setting; for a secret, whose
// value a parse error would quote, only that the value is not valid.
func (s Setting) hide(err error) error {
	if !s.Secret {
		return err
	}
	return errors.New("not a valid value (a secret: the value is not shown)")
}

// Value holds a setting's value; Set parses text into it. Repeatable
// settings (lists) append on each Set from a flag, and split on commas from
// the environment.
type Value interface {
	Set(string) error
	String() string
}

// ErrUsage is returned (wrapped) for a bad flag, file or variable.
var ErrUsage = errors.New("configuration error")

// Load applies defaults (already in the values), then the TOML file (the
// flag named "config", or FLARE_CONFIG), then the environment, then flags,
// to settings. A later source overrides an earlier one: flags beat FLARE_*
// variables, which beat the file, which beats the defaults. args are the
// command's arguments after its name; the remaining positional arguments
// are returned. On --help the usage goes to help (the command's standard
// output) and flag.ErrHelp is returned.
func Load(name string, settings []Setting, args, environ []string, help io.Writer) ([]string, error) {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	var configPath string
	fs.StringVar(&configPath, "config", "", "")
	// Flags are parsed into staging values first and applied last, so
	// that they win over the file and the environment.
	type staged struct {
		s    Setting
		vals []string
	}
	stage := map[string]*staged{}
	for _, s := range settings {
		if s.Flag == "" {
			continue
		}
		st := &staged{s: s}
		stage[s.Flag] = st
		if _, ok := s.Value.(*boolValue); ok {
			fs.Var(boolFlag{st: &st.vals}, s.Flag, s.Help)
		} else {
			fs.Var(listFlag{st: &st.vals}, s.Flag, s.Help)
		}
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			Usage(help, name, settings)
			return nil, flag.ErrHelp
		}
		return nil, fmt.Errorf("%w: %v", ErrUsage, err)
	}

	env := map[string]string{}
	for _, kv := range environ {
		if k, v, ok := strings.Cut(kv, "="); ok {
			env[k] = v
		}
	}

	if configPath == "" {
		configPath = env["FLARE_CONFIG"]
	}
	if configPath != "" {
		if err := loadFile(configPath, settings); err != nil {
			return nil, err
		}
	}

	for _, s := range settings {
		if v, ok := env[s.Env]; ok && s.Env != "" {
			if err := setAll(s.Value, splitEnv(s.Value, v)); err != nil {
				return nil, fmt.Errorf("%w: %s: %v", ErrUsage, s.Env, s.hide(err))
			}
		}
	}

	for _, st := range stage {
		if len(st.vals) == 0 {
			continue
		}
		if r, ok := st.s.Value.(resetter); ok {
			r.reset()
		}
		if err := setAll(st.s.Value, st.vals); err != nil {
			return nil, fmt.Errorf("%w: --%s: %v", ErrUsage, st.s.Flag, err)
		}
	}
	return fs.Args(), nil
}

func setAll(v Value, vals []string) error {
	if r, ok := v.(resetter); ok {
		r.reset()
	}
	for _, s := range vals {
		if err := v.Set(s); err != nil {
			return err
		}
	}
	return nil
}

func splitEnv(v Value, s string) []string {
	if _, ok := v.(*stringsValue); ok {
		var out []string
		for _, p := range strings.Split(s, ",") {
			if p = strings.TrimSpace(p); p != "" {
				out = append(out, p)
			}
		}
		return out
	}
	return []string{s}
}

func loadFile(path string, settings []Setting) error {
	var tree map[string]any
	if _, err := toml.DecodeFile(path, &tree); err != nil {
		return fmt.Errorf("%w: config file %s: %v", ErrUsage, path, err)
	}
	known := map[string]bool{}
	for _, s := range settings {
		known[s.Key] = true
		raw, ok := lookup(tree, s.Key)
		if !ok {
			continue
		}
		if tv, ok := s.Value.(TableValue); ok {
			if err := tv.SetTable(raw); err != nil {
				return fmt.Errorf("%w: config file %s: %s: %v", ErrUsage, path, s.Key, s.hide(err))
			}
			continue
		}
		var vals []string
		switch x := raw.(type) {
		case []any:
			for _, e := range x {
				vals = append(vals, fmt.Sprint(e))
			}
		case time.Time:
			return fmt.Errorf("%w: config file %s: %s: a date is not a valid value", ErrUsage, path, s.Key)
		default:
			vals = []string{fmt.Sprint(x)}
		}
		if err := setAll(s.Value, vals); err != nil {
			return fmt.Errorf("%w: config file %s: %s: %v", ErrUsage, path, s.Key, s.hide(err))
		}
	}
	var unknown []string
	walk(tree, "", func(key string) {
		if !known[key] && !prefixOfKnown(key, known) {
			unknown = append(unknown, key)
		}
	})
	if len(unknown) > 0 {
		sort.Strings(unknown)
		return fmt.Errorf("%w: config file %s: unknown setting %s", ErrUsage, path, strings.Join(unknown, ", "))
	}
	return nil
}

// prefixOfKnown lets a table of free-form values (like per-language texts
// under "texts") pass when a setting owns the whole table.
func prefixOfKnown(key string, known map[string]bool) bool {
	for k := range known {
		if strings.HasPrefix(key, k+".") {
			return true
		}
	}
	return false
}

func lookup(tree map[string]any, key string) (any, bool) {
	parts := strings.Split(key, ".")
	var cur any = tree
	for _, p := range parts {
		m, ok := cur.(map[string]any)
		if !ok {
			return nil, false
		}
		cur, ok = m[p]
		if !ok {
			return nil, false
		}
	}
	return cur, true
}

func walk(tree map[string]any, prefix string, fn func(string)) {
	for k, v := range tree {
		key := k
		if prefix != "" {
			key = prefix + "." + k
		}
		if m, ok := v.(map[string]any); ok {
			walk(m, key, fn)
			continue
		}
		fn(key)
	}
}

// Usage writes every setting with its flag, variable, key and default.
func Usage(w io.Writer, name string, settings []Setting) {
	fmt.Fprintf(w, "Usage: flare %s [flags]\n\n", name)
	fmt.Fprintf(w, "Settings come from flags, then FLARE_* environment variables, then the\nTOML file given by --config (or FLARE_CONFIG), then defaults: a flag\nbeats a variable, which beats the file.\nSecrets have no flag, so that they never show in ps.\n\n")
	fmt.Fprintf(w, "  --config FILE\n        TOML configuration file  [env FLARE_CONFIG]\n")
	for _, s := range settings {
		head := "  (no flag: config file or environment only)"
		if s.Flag != "" {
			head = "  --" + s.Flag
		}
		where := "[file " + s.Key + "]"
		if s.Env != "" {
			where = "[env " + s.Env + "] " + where
		}
		fmt.Fprintf(w, "%s\n        %s\n        %s", head, s.Help, where)
		if !s.Secret {
			if d := s.Value.String(); d != "" && d != "[]" {
				fmt.Fprintf(w, " (default %s)", d)
			}
		}
		fmt.Fprintln(w)
	}
}

// UnknownEnv returns the FLARE_* variables in environ that no setting
// claims, so a typo is reported instead of ignored.
func UnknownEnv(settings []Setting, environ []string, extra ...string) []string {
	known := map[string]bool{"FLARE_CONFIG": true}
	for _, e := range extra {
		known[e] = true
	}
	for _, s := range settings {
		known[s.Env] = true
	}
	var out []string
	for _, kv := range environ {
		k, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(k, "FLARE_") && !known[k] {
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return out
}

// Environ is os.Environ, for callers that pass the process environment to
// Load.
func Environ() []string { return os.Environ() }

type resetter interface{ reset() }

// TableValue is a Value that takes a whole TOML table from the config file
// (such as per-language texts) rather than a single string.
type TableValue interface {
	Value
	SetTable(raw any) error
}

// Texts returns a TableValue for a two-level table of strings, language →
// key → text: [texts.en] "web.title" = "…". From the environment or a flag
// it is not settable.
func Texts(p *map[string]map[string]string) TableValue { return (*textsValue)(p) }

type textsValue map[string]map[string]string

func (v *textsValue) Set(string) error {
	return errors.New("texts can only be set in the config file")
}
func (v *textsValue) String() string { return "" }
func (v *textsValue) SetTable(raw any) error {
	langs, ok := raw.(map[string]any)
	if !ok {
		return errors.New("want a table of languages")
	}
	out := map[string]map[string]string{}
	for lang, texts := range langs {
		m, ok := texts.(map[string]any)
		if !ok {
			return fmt.Errorf("texts.%s: want a table of texts", lang)
		}
		out[lang] = map[string]string{}
		for k, t := range m {
			s, ok := t.(string)
			if !ok {
				return fmt.Errorf("texts.%s.%s: want a string", lang, k)
			}
			out[lang][k] = s
		}
	}
	*v = out
	return nil
}

type listFlag struct{ st *[]string }

func (l listFlag) Set(s string) error { *l.st = append(*l.st, s); return nil }
func (l listFlag) String() string     { return "" }

type boolFlag struct{ st *[]string }

func (b boolFlag) Set(s string) error { *b.st = append(*b.st, s); return nil }
func (b boolFlag) String() string     { return "" }
func (b boolFlag) IsBoolFlag() bool   { return true }

// String returns a Value that stores into p.
func String(p *string) Value { return (*stringValue)(p) }

type stringValue string

func (v *stringValue) Set(s string) error { *v = stringValue(s); return nil }
func (v *stringValue) String() string     { return string(*v) }

// Strings returns a repeatable Value that stores into p.
func Strings(p *[]string) Value { return (*stringsValue)(p) }

type stringsValue []string

func (v *stringsValue) Set(s string) error { *v = append(*v, s); return nil }
func (v *stringsValue) String() string     { return strings.Join(*v, ",") }
func (v *stringsValue) reset()             { *v = nil }

// Bool returns a Value that stores into p.
func Bool(p *bool) Value { return (*boolValue)(p) }

type boolValue bool

func (v *boolValue) Set(s string) error {
	b, err := strconv.ParseBool(s)
	if err != nil {
		return fmt.Errorf("%q is not true or false", s)
	}
	*v = boolValue(b)
	return nil
}
func (v *boolValue) String() string { return strconv.FormatBool(bool(*v)) }

// Int returns a Value that stores into p.
func Int(p *int) Value { return (*intValue)(p) }

type intValue int

func (v *intValue) Set(s string) error {
	n, err := strconv.Atoi(s)
	if err != nil {
		return fmt.Errorf("%q is not a whole number", s)
	}
	*v = intValue(n)
	return nil
}
func (v *intValue) String() string { return strconv.Itoa(int(*v)) }

// Bytes returns a Value for a size in bytes. It reads what
// github.com/dustin/go-humanize reads ("256MiB", "1.5 GiB", "300MB",
// "4096") and shows sizes the same way ("256MiB").
func Bytes(p *int64) Value { return (*bytesValue)(p) }

type bytesValue int64

func (v *bytesValue) Set(s string) error {
	n, err := humanize.ParseBytes(strings.TrimSpace(s))
	if err != nil || n > math.MaxInt64 {
		return fmt.Errorf("%q is not a size (e.g. 256MiB)", s)
	}
	*v = bytesValue(n)
	return nil
}

// String shows the size in binary units when that is exact, else in
// bytes, so that what is shown reads back as the same value.
func (v *bytesValue) String() string { return FormatBytes(int64(*v)) }

// FormatBytes shows n as humanize does ("256MiB", without the space), or
// as a plain count of bytes when rounding would change it.
func FormatBytes(n int64) string {
	if n < 0 {
		return strconv.FormatInt(n, 10)
	}
	h := strings.ReplaceAll(humanize.IBytes(uint64(n)), " ", "")
	h = strings.Replace(h, ".0", "", 1) // "1.0GiB" reads better as "1GiB"
	if back, err := humanize.ParseBytes(h); err == nil && back == uint64(n) {
		return h
	}
	return strconv.FormatInt(n, 10) + "B"
}

// Duration returns a Value for a time.Duration. It takes Go durations
// ("30s", "5m", "36h") and days ("90d", "1d12h"), and shows whole days as
// days ("90d") and the rest without trailing zero units ("5m", not "5m0s").
func Duration(p *time.Duration) Value { return (*durationValue)(p) }

type durationValue time.Duration

func (v *durationValue) Set(s string) error {
	d, err := ParseDuration(s)
	if err != nil {
		return err
	}
	*v = durationValue(d)
	return nil
}
func (v *durationValue) String() string { return FormatDuration(time.Duration(*v)) }

// ParseDuration reads a Go duration with an optional leading count of days:
// "90d", "1d12h", "30s".
func ParseDuration(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	bad := fmt.Errorf("%q is not a duration (e.g. 30s, 5m, 90d)", s)
	var days time.Duration
	if i := strings.IndexByte(s, 'd'); i >= 0 {
		n, err := strconv.ParseUint(s[:i], 10, 32)
		if err != nil || n > 100*365 {
			return 0, bad
		}
		days, s = time.Duration(n)*24*time.Hour, s[i+1:]
		if s == "" {
			return days, nil
		}
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return 0, bad
	}
	return days + d, nil
}

// FormatDuration shows d so that ParseDuration reads it back: whole days
// as "90d", otherwise Go's form without zero trailing units ("5m", "1h30m").
func FormatDuration(d time.Duration) string {
	const day = 24 * time.Hour
	if d > 0 && d%day == 0 {
		return strconv.FormatInt(int64(d/day), 10) + "d"
	}
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}
