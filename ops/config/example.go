package config

import (
	"bytes"
	"fmt"
	"io"
	"regexp"
	"sort"
	"strings"

	"github.com/BurntSushi/toml"
)

// Example writes a TOML configuration file listing every setting: its help,
// its flag and variable, and its default, commented out, so that the file
// changes nothing until an operator uncomments a line. Keys in set are
// written uncommented with the given value instead (an installed service's
// choices, such as attaching to the system tor); keys in set that no
// setting has are an error. header is written first, each line as a
// comment.
//
// Because the file is generated from the same settings that Load and Usage
// use, it cannot list a setting that does not exist or miss one that does;
// a test compares ops/flare.example.toml with Example's output.
func Example(w io.Writer, header string, settings []Setting, set map[string]string) error {
	known := map[string]bool{}
	for _, s := range settings {
		known[s.Key] = true
	}
	for k := range set {
		if !known[k] {
			return fmt.Errorf("example: no setting %q", k)
		}
	}
	var b bytes.Buffer
	for _, line := range strings.Split(strings.TrimRight(header, "\n"), "\n") {
		b.WriteString(strings.TrimRight("# "+line, " ") + "\n")
	}

	// TOML wants every top-level key before the first [table], so the
	// settings are grouped by table, top level first, each group in the
	// order the settings are declared. Whole-table settings (texts) come
	// last, as they open tables of their own.
	var tables []string
	groups := map[string][]Setting{}
	var whole []Setting
	for _, s := range settings {
		if _, ok := s.Value.(TableValue); ok {
			whole = append(whole, s)
			continue
		}
		table := ""
		if i := strings.LastIndexByte(s.Key, '.'); i >= 0 {
			table = s.Key[:i]
		}
		if _, ok := groups[table]; !ok {
			tables = append(tables, table)
		}
		groups[table] = append(groups[table], s)
	}
	// Top level first; then each table family in the order it first
	// appears, a parent ([sms]) before its children ([sms.twilio]).
	root := func(t string) string { r, _, _ := strings.Cut(t, "."); return r }
	first := map[string]int{}
	for i, t := range tables {
		if _, ok := first[root(t)]; !ok {
			first[root(t)] = i
		}
	}
	sort.SliceStable(tables, func(i, j int) bool {
		a, b := tables[i], tables[j]
		if (a == "") != (b == "") {
			return a == ""
		}
		if first[root(a)] != first[root(b)] {
			return first[root(a)] < first[root(b)]
		}
		return strings.Count(a, ".") < strings.Count(b, ".")
	})
	for _, table := range tables {
		if table != "" {
			fmt.Fprintf(&b, "\n[%s]\n", table)
		}
		for _, s := range groups[table] {
			name := s.Key[strings.LastIndexByte(s.Key, '.')+1:]
			b.WriteString("\n")
			writeComment(&b, s)
			if v, ok := set[s.Key]; ok {
				val, err := tomlValue(s.Value, v)
				if err != nil {
					return fmt.Errorf("example: %s: %w", s.Key, err)
				}
				fmt.Fprintf(&b, "%s = %s\n", tomlKey(name), val)
				continue
			}
			def := s.Value.String()
			if s.Secret {
				def = ""
			}
			val, err := tomlValue(s.Value, def)
			if err != nil {
				return fmt.Errorf("example: %s: %w", s.Key, err)
			}
			fmt.Fprintf(&b, "#%s = %s\n", tomlKey(name), val)
		}
	}
	for _, s := range whole {
		b.WriteString("\n")
		writeComment(&b, s)
		fmt.Fprintf(&b, "#[%s.en]\n#\"some.key\" = \"…\"\n", s.Key)
	}
	_, err := w.Write(b.Bytes())
	return err
}

func writeComment(b *bytes.Buffer, s Setting) {
	b.WriteString("# " + s.Help + "\n")
	var where []string
	if s.Flag != "" {
		where = append(where, "flag --"+s.Flag)
	} else {
		where = append(where, "no flag")
	}
	if s.Env != "" {
		where = append(where, "variable "+s.Env)
	} else {
		where = append(where, "no variable")
	}
	line := "# " + strings.Join(where, ", ")
	if s.Secret {
		line += "; a secret: keep this file 0640 root:flare, or use the variable"
	}
	b.WriteString(line + "\n")
}

var bareKey = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)

func tomlKey(k string) string {
	if bareKey.MatchString(k) {
		return k
	}
	return fmt.Sprintf("%q", k)
}

// tomlValue renders s, a value as Set reads it, in the TOML type that
// loadFile hands back to the same Set: booleans and whole numbers bare,
// lists as arrays, everything else (sizes, durations, text) as a string.
func tomlValue(v Value, s string) (string, error) {
	var x any = s
	switch v.(type) {
	case *boolValue:
		x = s == "true"
	case *intValue:
		var n int64
		if _, err := fmt.Sscan(s, &n); err != nil {
			return "", fmt.Errorf("%q is not a whole number", s)
		}
		x = n
	case *stringsValue:
		list := []string{}
		for _, p := range strings.Split(s, ",") {
			if p = strings.TrimSpace(p); p != "" {
				list = append(list, p)
			}
		}
		x = list
	}
	var b bytes.Buffer
	if err := toml.NewEncoder(&b).Encode(map[string]any{"v": x}); err != nil {
		return "", err
	}
	return strings.TrimSpace(strings.TrimPrefix(b.String(), "v = ")), nil
}
