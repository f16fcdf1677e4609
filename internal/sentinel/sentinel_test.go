package sentinel

import (
	"encoding/base64"
	"encoding/hex"
	"os"
	"path/filepath"
	"testing"
)

func TestDirFindsEveryForm(t *testing.T) {
	const needle = "SENTINEL-ab12 cd"
	tests := map[string]string{
		"raw":    "xx" + needle + "yy",
		"hex":    hex.EncodeToString([]byte(needle)),
		"base64": base64.StdEncoding.EncodeToString([]byte(needle)),
		"json":   `{"t":"SENTINEL-ab12 cd"}`,
		"url":    "a=SENTINEL-ab12+cd",
	}
	for name, content := range tests {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			os.MkdirAll(filepath.Join(dir, "sub"), 0o700)
			os.WriteFile(filepath.Join(dir, "sub", "f"), []byte(content), 0o600)
			found, err := Dir(dir, needle)
			if err != nil {
				t.Fatal(err)
			}
			if len(found) != 1 {
				t.Fatalf("found %v", found)
			}
		})
	}
}

func TestDirNoFalsePositive(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "f"), []byte("nothing to see SENTINEL-ab12"), 0o600)
	found, err := Dir(dir, "SENTINEL-ab12 cd", "+85512345678")
	if err != nil {
		t.Fatal(err)
	}
	if len(found) != 0 {
		t.Fatalf("false positives: %v", found)
	}
}
