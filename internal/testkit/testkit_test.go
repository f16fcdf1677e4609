package testkit

import (
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/flarehq/flare/crypto"
)

func TestBufferConcurrentWrites(t *testing.T) {
	var b Buffer
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 100 {
				b.Write([]byte("line\n"))
				_ = b.String()
			}
		})
	}
	wg.Wait()
	if n := strings.Count(b.String(), "line\n"); n != 800 {
		t.Fatalf("String holds %d lines, want 800", n)
	}
	got := b.Bytes()
	got[0] = 'X'
	if b.String()[0] != 'l' {
		t.Fatal("Bytes shares memory with the buffer")
	}
}

func TestFlareBinary(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the flare binary")
	}
	path := FlareBinary(t)
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode()&0o111 == 0 {
		t.Fatalf("%s is not executable: %v", path, fi.Mode())
	}
	if again := FlareBinary(t); again != path {
		t.Fatalf("second call built again: %s, then %s", path, again)
	}
	Cleanup()
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Fatalf("after Cleanup, stat %s: %v", path, err)
	}
}

func TestNewKeyHolder(t *testing.T) {
	k := NewKeyHolder(t)
	fi, err := os.Stat(k.File)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("identity file mode %v", fi.Mode().Perm())
	}
	s, err := crypto.NewSealer(k.Recipient)
	if err != nil {
		t.Fatal(err)
	}
	sealed, err := s.SealBytes([]byte("x"))
	if err != nil {
		t.Fatal(err)
	}
	if got, err := crypto.OpenBytes(sealed, k.Identities...); err != nil || string(got) != "x" {
		t.Fatalf("the identities do not open what is sealed to the recipient: %q %v", got, err)
	}
}
