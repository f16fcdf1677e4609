// Command catalogkey adds a text to every embedded catalogue at once, so
// that adding a key is one step:
//
//	go run ./channels/catalog/cmd/catalogkey -key web.error.busy -text 'Try again later.'
//
// It writes the English into every file's "message" and into the English
// "translation", and leaves every other translation empty (or keeps an
// existing one). The catalogue tests then fail, naming each language and
// key, until a translator fills them in. With -remove it drops a key from
// every file.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/flarehq/flare/channels/catalog"
)

func main() {
	dir := flag.String("dir", "channels/catalog/locales", "the locales folder")
	key := flag.String("key", "", "the text's key, e.g. telegram.slow_down")
	text := flag.String("text", "", "the English text")
	remove := flag.Bool("remove", false, "remove the key from every catalogue")
	flag.Parse()
	if *key == "" || (*text == "" && !*remove) {
		fmt.Fprintln(os.Stderr, "usage: catalogkey -key KEY -text 'English text' | -key KEY -remove")
		os.Exit(2)
	}
	for _, code := range catalog.Supported {
		if err := update(filepath.Join(*dir, code, "messages.gotext.json"), code, *key, *text, *remove); err != nil {
			fmt.Fprintln(os.Stderr, "catalogkey:", err)
			os.Exit(1)
		}
	}
}

func update(path, code, key, text string, remove bool) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	var f catalog.File
	if err := json.Unmarshal(data, &f); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	var out []catalog.Message
	found := false
	for _, m := range f.Messages {
		if m.ID == key {
			if remove {
				continue
			}
			found = true
			if m.Message != text && code != catalog.Fallback {
				m.Translation = "" // the English changed: translate again
			}
			m.Message = text
			if code == catalog.Fallback {
				m.Translation = text
			}
		}
		out = append(out, m)
	}
	if !found && !remove {
		m := catalog.Message{ID: key, Message: text}
		if code == catalog.Fallback {
			m.Translation = text
		}
		out = append(out, m)
	}
	f.Messages = out
	b, err := json.MarshalIndent(f, "", "\t")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}
