// Package catalog holds every text a source sees, in every language Flare
// supports, so that a page, a bot message or an SMS reply is never half in
// one language and half in another.
//
// The texts live in one message file per language, embedded in the binary:
// locales/<code>/messages.gotext.json. That is the gotext JSON format of
// golang.org/x/text/message/pipeline, which translation tools (Weblate,
// Crowdin and the x/text gotext tool itself) read and write; it needs no
// dependency beyond golang.org/x/text, which Flare already uses for
// language matching. Each file also records who checked it: "reviewed" is
// false, with the note "not reviewed by a native speaker yet", until a
// native speaker has read it, so a deployment knows what to have checked.
// Placeholders are fmt verbs (%s, %d) kept verbatim in every translation;
// the package's tests check that each translation has the English verbs.
//
// New loads the embedded files; a deployment overrides any text, in any
// language, from its configuration ([texts.LANG] tables), and the
// overrides win. Choose picks a language with x/text's matcher: zh-TW gets
// Traditional Chinese, zh-CN Simplified, tl Filipino.
//
// Adding a text: add the English to the channel's defaults (texts.go) and
// run
//
//	go run ./channels/catalog/cmd/catalogkey -key KEY -text 'English text'
//
// which adds the key to every file with an empty translation; the
// completeness tests then name each language that still lacks it until a
// translator fills it in.
package catalog

import (
	"embed"
	"encoding/json"
	"fmt"
	"io/fs"
	"path"
	"strings"
	"sync"

	"golang.org/x/text/language"
)

// Fallback is the language used when nothing else decides, and the one
// every other catalogue is checked against.
const Fallback = "en"

// Supported lists the codes of the embedded catalogues, in the order a
// language switch shows them.
var Supported = []string{
	"en", "km", "my", "lo", "th", "vi", "zh-Hans", "zh-Hant", "id", "ms", "fil",
	"hi", "bn", "ne", "si", "ur", "am", "sw", "ru", "ky", "es", "pt",
}

//go:embed locales
var files embed.FS

// File is one message file: gotext JSON, with Flare's review record.
type File struct {
	Language string `json:"language"`
	// Name is how the language names itself ("ភាសាខ្មែរ").
	Name string `json:"name"`
	// Direction is "rtl" for right-to-left scripts, else "ltr".
	Direction string `json:"direction"`
	// Reviewed is true once a native speaker has read every text.
	Reviewed bool `json:"reviewed"`
	// Review says, in English, who checked the translation.
	Review   string    `json:"review"`
	Messages []Message `json:"messages"`
}

// Message is one text of a File.
type Message struct {
	ID          string `json:"id"`
	Message     string `json:"message"`
	Translation string `json:"translation"`
}

// LoadFile reads the embedded message file of code.
func LoadFile(code string) (*File, error) {
	data, err := fs.ReadFile(files, path.Join("locales", code, "messages.gotext.json"))
	if err != nil {
		return nil, fmt.Errorf("catalog %s: %w", code, err)
	}
	var f File
	if err := json.Unmarshal(data, &f); err != nil {
		return nil, fmt.Errorf("catalog %s: %w", code, err)
	}
	if f.Language != code {
		return nil, fmt.Errorf("catalog %s: file says language %q", code, f.Language)
	}
	return &f, nil
}

// Catalog is a set of texts by language and key. It is safe for concurrent
// use.
type Catalog struct {
	mu        sync.RWMutex
	defaults  map[string]map[string]string
	overrides map[string]map[string]string
	names     map[string]string
	rtl       map[string]bool
	reviewed  map[string]bool
	codes     []string // languages offered, in switch order
	matcher   language.Matcher
	dflt      string
}

// New returns a catalog of the embedded texts with the deployment's
// overrides (language → key → text), which win over the defaults. An
// embedded file that cannot be read is a build error, caught by the
// package's tests, so New does not fail on it at run time: that language
// is simply left out.
func New(overrides map[string]map[string]string) *Catalog {
	c := &Catalog{
		defaults:  map[string]map[string]string{},
		overrides: map[string]map[string]string{},
		names:     map[string]string{},
		rtl:       map[string]bool{},
		reviewed:  map[string]bool{},
		dflt:      Fallback,
	}
	for _, code := range Supported {
		f, err := LoadFile(code)
		if err != nil {
			continue
		}
		m := map[string]string{}
		for _, msg := range f.Messages {
			if msg.Translation != "" {
				m[msg.ID] = msg.Translation
			}
		}
		c.defaults[code] = m
		c.names[code] = f.Name
		c.rtl[code] = f.Direction == "rtl"
		c.reviewed[code] = f.Reviewed
		c.codes = append(c.codes, code)
	}
	c.rebuild()
	for lang, texts := range overrides {
		code := c.canonical(lang)
		if c.overrides[code] == nil {
			c.overrides[code] = map[string]string{}
		}
		for k, v := range texts {
			c.overrides[code][k] = v
		}
	}
	c.mu.Lock()
	for code := range c.overrides {
		if _, ok := c.defaults[code]; !ok && c.completeLocked(code) {
			c.codes = append(c.codes, code)
		}
	}
	c.mu.Unlock()
	c.rebuild()
	return c
}

// rebuild makes the matcher for the offered languages.
func (c *Catalog) rebuild() {
	c.mu.Lock()
	defer c.mu.Unlock()
	tags := make([]language.Tag, 0, len(c.codes))
	for _, code := range c.codes {
		tags = append(tags, language.Make(code))
	}
	c.matcher = language.NewMatcher(tags)
}

// completeLocked reports whether a language only the deployment supplies
// has every English text, so that it can be offered without mixing
// languages on one page.
func (c *Catalog) completeLocked(code string) bool {
	for k := range c.defaults[Fallback] {
		if _, ok := c.overrides[code][k]; !ok {
			return false
		}
	}
	return true
}

// canonical maps a tag onto an offered code where the matcher is sure
// ("km-KH" → "km", "tl" → "fil", "zh-TW" → "zh-Hant"), else lower-cases it.
func (c *Catalog) canonical(tag string) string {
	if code, ok := c.Resolve(tag); ok {
		return code
	}
	return strings.ToLower(strings.TrimSpace(tag))
}

// Resolve returns the offered language a single tag means, if the matcher
// is confident of it: an explicit choice (?lang=, a bot menu) or a
// Telegram language_code.
func (c *Catalog) Resolve(tag string) (string, bool) {
	tag = strings.TrimSpace(tag)
	if tag == "" || len(tag) > 35 {
		return "", false
	}
	t, err := language.Parse(tag)
	if err != nil {
		return "", false
	}
	c.mu.RLock()
	defer c.mu.RUnlock()
	_, i, conf := c.matcher.Match(t)
	if conf < language.High {
		return "", false
	}
	return c.codes[i], true
}

// Match picks the best offered language for an Accept-Language header, or
// the deployment's default.
func (c *Catalog) Match(acceptLanguage string) string {
	if code, ok := c.matchAccept(acceptLanguage); ok {
		return code
	}
	return c.Default()
}

func (c *Catalog) matchAccept(acceptLanguage string) (string, bool) {
	if acceptLanguage == "" || len(acceptLanguage) > 1024 {
		return "", false
	}
	tags, _, err := language.ParseAcceptLanguage(acceptLanguage)
	if err != nil || len(tags) == 0 {
		return "", false
	}
	c.mu.RLock()
	defer c.mu.RUnlock()
	_, i, conf := c.matcher.Match(tags...)
	if conf == language.No {
		return "", false
	}
	return c.codes[i], true
}

// Choose picks the language of one exchange: an explicit choice first,
// then Accept-Language, then a messenger's language_code, then the
// deployment's default.
func (c *Catalog) Choose(explicit, acceptLanguage, clientCode string) string {
	if code, ok := c.Resolve(explicit); ok {
		return code
	}
	if code, ok := c.matchAccept(acceptLanguage); ok {
		return code
	}
	if code, ok := c.Resolve(clientCode); ok {
		return code
	}
	return c.Default()
}

// SetDefault sets the language used when nothing else decides. It must be
// an offered language.
func (c *Catalog) SetDefault(code string) error {
	resolved, ok := c.Resolve(code)
	if !ok {
		return fmt.Errorf("default language %q: not one of %s", code, strings.Join(c.Languages(), ", "))
	}
	c.mu.Lock()
	c.dflt = resolved
	c.mu.Unlock()
	return nil
}

// Default returns the language used when nothing else decides.
func (c *Catalog) Default() string {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.dflt
}

// AddDefaults adds a channel's default texts in lang, for keys the
// embedded file lacks. A key already present keeps its first text, so two
// channels cannot silently fight over one.
func (c *Catalog) AddDefaults(lang string, texts map[string]string) {
	code := c.canonical(lang)
	c.mu.Lock()
	defer c.mu.Unlock()
	m := c.defaults[code]
	if m == nil {
		m = map[string]string{}
		c.defaults[code] = m
	}
	for k, v := range texts {
		if _, ok := m[k]; !ok {
			m[k] = v
		}
	}
}

// SetLanguageName records how a language names itself, for switches.
func (c *Catalog) SetLanguageName(lang, name string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.names[c.canonicalLocked(lang)] = name
}

func (c *Catalog) canonicalLocked(lang string) string {
	for _, code := range c.codes {
		if strings.EqualFold(code, lang) {
			return code
		}
	}
	return strings.ToLower(lang)
}

// Text returns the text for key in lang, formatted with args as by
// fmt.Sprintf when args are given: the deployment's text in lang, the
// embedded one, then the same in English. A missing key returns the key
// itself, so a gap shows up in testing instead of as an empty screen; the
// completeness tests keep gaps from being built.
func (c *Catalog) Text(lang, key string, args ...any) string {
	c.mu.RLock()
	defer c.mu.RUnlock()
	lang = c.canonicalLocked(lang)
	for _, l := range []string{lang, Fallback} {
		if v, ok := c.overrides[l][key]; ok {
			return format(v, args)
		}
		if v, ok := c.defaults[l][key]; ok {
			return format(v, args)
		}
	}
	return key
}

func format(s string, args []any) string {
	if len(args) == 0 {
		return s
	}
	return fmt.Sprintf(s, args...)
}

// Languages returns the codes of every offered language, in switch order.
func (c *Catalog) Languages() []string {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return append([]string(nil), c.codes...)
}

// LanguageName returns how lang names itself, or its code.
func (c *Catalog) LanguageName(lang string) string {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if n, ok := c.names[c.canonicalLocked(lang)]; ok && n != "" {
		return n
	}
	return lang
}

// RTL reports whether lang is written right to left.
func (c *Catalog) RTL(lang string) bool {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.rtl[c.canonicalLocked(lang)]
}

// Reviewed reports whether a native speaker has reviewed lang's texts.
func (c *Catalog) Reviewed(lang string) bool {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.reviewed[c.canonicalLocked(lang)]
}

// Has reports whether lang is exactly one of the offered codes.
func (c *Catalog) Has(lang string) bool {
	c.mu.RLock()
	defer c.mu.RUnlock()
	for _, code := range c.codes {
		if strings.EqualFold(code, lang) {
			return true
		}
	}
	return false
}
