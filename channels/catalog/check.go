package catalog

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
)

// verbs finds fmt verbs in a text.
var verbs = regexp.MustCompile(`%[-+# 0]*[0-9]*(?:\.[0-9]+)?[a-zA-Z%]`)

// Check reports every way the embedded catalogues fall short of a
// channel's English defaults: a key missing or empty in a language, a
// translation whose placeholders differ from the English, an English
// file whose text differs from the channel's. Each problem names the
// language and the key, so a failing test says what to translate. Channels
// call it from their tests with their default texts.
func Check(defaults map[string]string) []string {
	var problems []string
	keys := make([]string, 0, len(defaults))
	for k := range defaults {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, code := range Supported {
		f, err := LoadFile(code)
		if err != nil {
			problems = append(problems, err.Error())
			continue
		}
		have := map[string]Message{}
		for _, m := range f.Messages {
			have[m.ID] = m
		}
		for _, k := range keys {
			m, ok := have[k]
			switch {
			case !ok:
				problems = append(problems, fmt.Sprintf("%s: key %q is missing", code, k))
			case strings.TrimSpace(m.Translation) == "":
				problems = append(problems, fmt.Sprintf("%s: key %q is not translated", code, k))
			case m.Message != defaults[k]:
				problems = append(problems, fmt.Sprintf("%s: key %q: the file's English %q differs from the default %q", code, k, m.Message, defaults[k]))
			case !slices.Equal(verbs.FindAllString(m.Translation, -1), verbs.FindAllString(defaults[k], -1)):
				problems = append(problems, fmt.Sprintf("%s: key %q: placeholders %q, want %q", code, k, verbs.FindAllString(m.Translation, -1), verbs.FindAllString(defaults[k], -1)))
			case code == Fallback && m.Translation != defaults[k]:
				problems = append(problems, fmt.Sprintf("%s: key %q: %q differs from the default %q", code, k, m.Translation, defaults[k]))
			}
		}
	}
	return problems
}
