// Package catalog holds every text a source sees, keyed by language, so that
// adding a language (Khmer, Thai, Vietnamese, Chinese, Burmese, Lao,
// Indonesian, Tagalog, …) is adding translations, not touching handlers.
//
// Each channel registers its own default texts (in English at least) with
// AddDefaults; a deployment overrides any of them, in any language, from its
// configuration. Lookups fall back from the asked language to English, and
// from the deployment's texts to the defaults.
package catalog

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync"
)

// Fallback is the language used when a text is missing in the asked one.
const Fallback = "en"

// Catalog is a set of texts by language and key. It is safe for concurrent
// use.
type Catalog struct {
	mu        sync.RWMutex
	defaults  map[string]map[string]string
	overrides map[string]map[string]string
	names     map[string]string // language code → its own name, for switches
}

// New returns a catalog with the deployment's overrides (language → key →
// text), which win over every channel's defaults.
func New(overrides map[string]map[string]string) *Catalog {
	c := &Catalog{
		defaults:  map[string]map[string]string{},
		overrides: map[string]map[string]string{},
		names:     map[string]string{"en": "English"},
	}
	for lang, texts := range overrides {
		lang = normalize(lang)
		c.overrides[lang] = map[string]string{}
		for k, v := range texts {
			c.overrides[lang][k] = v
		}
	}
	return c
}

// AddDefaults adds a channel's default texts in lang. A key already present
// keeps its first text, so two channels cannot silently fight over one.
func (c *Catalog) AddDefaults(lang string, texts map[string]string) {
	lang = normalize(lang)
	c.mu.Lock()
	defer c.mu.Unlock()
	m := c.defaults[lang]
	if m == nil {
		m = map[string]string{}
		c.defaults[lang] = m
	}
	for k, v := range texts {
		if _, ok := m[k]; !ok {
			m[k] = v
		}
	}
}

// SetLanguageName records how a language names itself ("ភាសាខ្មែរ" for km),
// for language switches.
func (c *Catalog) SetLanguageName(lang, name string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.names[normalize(lang)] = name
}

// Text returns the text for key in lang, formatted with args as by
// fmt.Sprintf when args are given. A missing key returns the key itself, so
// a gap shows up in testing instead of as an empty screen.
func (c *Catalog) Text(lang, key string, args ...any) string {
	c.mu.RLock()
	defer c.mu.RUnlock()
	lang = normalize(lang)
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

// Languages returns the codes of every language with at least one text,
// sorted, English first.
func (c *Catalog) Languages() []string {
	c.mu.RLock()
	defer c.mu.RUnlock()
	set := map[string]bool{}
	for l := range c.defaults {
		set[l] = true
	}
	for l := range c.overrides {
		set[l] = true
	}
	var out []string
	for l := range set {
		if l != Fallback {
			out = append(out, l)
		}
	}
	sort.Strings(out)
	return append([]string{Fallback}, out...)
}

// LanguageName returns how lang names itself, or its code.
func (c *Catalog) LanguageName(lang string) string {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if n, ok := c.names[normalize(lang)]; ok {
		return n
	}
	return lang
}

// Has reports whether lang is a language of the catalog.
func (c *Catalog) Has(lang string) bool {
	lang = normalize(lang)
	for _, l := range c.Languages() {
		if l == lang {
			return true
		}
	}
	return false
}

// Match picks the best language of the catalog for an Accept-Language
// header, or Fallback.
func (c *Catalog) Match(acceptLanguage string) string {
	type choice struct {
		lang string
		q    float64
	}
	var choices []choice
	for _, part := range strings.Split(acceptLanguage, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		tag, params, _ := strings.Cut(part, ";")
		q := 1.0
		if v, ok := strings.CutPrefix(strings.TrimSpace(params), "q="); ok {
			if f, err := strconv.ParseFloat(v, 64); err == nil {
				q = f
			}
		}
		choices = append(choices, choice{normalize(tag), q})
	}
	sort.SliceStable(choices, func(i, j int) bool { return choices[i].q > choices[j].q })
	for _, ch := range choices {
		if ch.q > 0 && c.Has(ch.lang) {
			return ch.lang
		}
	}
	return Fallback
}

// normalize reduces a language tag to its primary subtag, lower-cased:
// "km-KH" → "km". Flare's catalogues are per language, not per region.
func normalize(tag string) string {
	tag = strings.ToLower(strings.TrimSpace(tag))
	if i := strings.IndexAny(tag, "-_"); i >= 0 {
		tag = tag[:i]
	}
	return tag
}
