package crypto

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"filippo.io/age"
	"filippo.io/age/armor"
)

// TestCCTVVectors runs the C2SP age vectors through the same decryption
// path the console uses for tips: a valid file opens to its exact payload,
// and a tampered one fails without releasing unauthenticated plaintext.
func TestCCTVVectors(t *testing.T) {
	files, err := filepath.Glob("testdata/cctv/*")
	if err != nil {
		t.Fatal(err)
	}
	tested := 0
	for _, path := range files {
		if filepath.Base(path) == "README.md" {
			continue
		}
		t.Run(filepath.Base(path), func(t *testing.T) {
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			header, body, ok := bytes.Cut(data, []byte("\n\n"))
			if !ok {
				t.Fatal("no header")
			}
			var expect, payload string
			var idLines []string
			armored := false
			sc := bufio.NewScanner(bytes.NewReader(header))
			for sc.Scan() {
				k, v, _ := strings.Cut(sc.Text(), ": ")
				switch k {
				case "expect":
					expect = v
				case "payload":
					payload = v
				case "identity":
					idLines = append(idLines, v)
				case "armored":
					armored = v == "yes"
				}
			}
			ids, err := ParseIdentities([]byte(strings.Join(idLines, "\n")), nil)
			if err != nil {
				t.Fatalf("identities: %v", err)
			}
			var src io.Reader = bytes.NewReader(body)
			if armored {
				src = armor.NewReader(src)
			}
			var released []byte
			r, err := age.Decrypt(src, ids...)
			if err == nil {
				released, err = io.ReadAll(r)
			}
			sum := sha256.Sum256(released)
			switch expect {
			case "success":
				if err != nil {
					t.Fatalf("want success, got %v", err)
				}
				if hex.EncodeToString(sum[:]) != payload {
					t.Fatalf("payload hash mismatch")
				}
			case "no match":
				if !IsNotRecipient(err) {
					t.Fatalf("want no-match error, got %v", err)
				}
			case "payload failure":
				if err == nil {
					t.Fatal("want a payload failure, got success")
				}
				if hex.EncodeToString(sum[:]) != payload {
					t.Fatalf("released plaintext that the vector says is unauthenticated")
				}
			default: // header, HMAC and armor failures
				if err == nil {
					t.Fatalf("want %s, got success", expect)
				}
			}
		})
		tested++
	}
	if tested < 15 {
		t.Fatalf("only %d vectors found", tested)
	}
}
