package main

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"

	"filippo.io/age"

	"github.com/flarehq/flare/crypto"
	"github.com/flarehq/flare/ops/config"
	"github.com/flarehq/flare/queue/embedded"
)

// runRestore is "flare restore FILE --identity ID": it opens a backup with
// a key-holder's identity and recreates the data directory (onion key,
// hash key, …) and the embedded store on this machine, so that the
// gateway comes back with the same onion address and every tip the backup
// held. The data directory must be empty or absent: a restore never mixes
// with, or overwrites, a running deployment's keys.
func runRestore(ctx context.Context, a *app, args []string) error {
	cfg := defaultGatewayConfig()
	cfg.Core.DataDir = defaultDataDir(a.environ, cfg.Core.DataDir)
	var identity string
	settings := append(cfg.settings(), config.Setting{Key: "identity", Env: "FLARE_IDENTITY", Flag: "identity", Help: "a key-holder's age identity file, to open the backup", Value: config.String(&identity)})
	rest, err := config.Load("restore", settings, interleave(args), a.environ, a.stdout)
	if err != nil {
		return err
	}
	if len(rest) != 1 {
		return usageError("give the backup archive: flare restore FILE --identity ID")
	}
	if identity == "" {
		return usageError("give a key-holder identity with --identity FILE")
	}
	ids, err := crypto.LoadIdentities(identity, a.passphrase)
	if err != nil {
		return err
	}
	storePath := filepath.Join(cfg.Core.DataDir, "flare.db")
	if u := cfg.Core.QueueURL(); strings.HasPrefix(u, "file:") {
		if storePath, err = embedded.ParseURL(u); err != nil {
			return err
		}
	}
	n, hadStore, err := restore(rest[0], cfg.Core.DataDir, storePath, ids)
	if err != nil {
		return err
	}
	fmt.Fprintf(a.stderr, "Restored %d files into %s", n, cfg.Core.DataDir)
	if hadStore {
		fmt.Fprintf(a.stderr, " and the embedded store into %s", storePath)
	}
	fmt.Fprintln(a.stderr, ".")
	if os.Geteuid() == 0 {
		fmt.Fprintf(a.stderr, "For the packaged service: chown -R flare:flare %s\n", cfg.Core.DataDir)
	}
	return nil
}

// errNotEmpty refuses a restore over existing state.
var errNotEmpty = errors.New("is not empty; restore only into an empty or new data directory")

func restore(file, dir, storePath string, ids []age.Identity) (files int, hadStore bool, err error) {
	if entries, err := os.ReadDir(dir); err == nil && len(entries) > 0 {
		return 0, false, fmt.Errorf("data directory %s %w", dir, errNotEmpty)
	} else if err != nil && !errors.Is(err, os.ErrNotExist) {
		return 0, false, fmt.Errorf("data directory: %w", err)
	}
	if _, err := os.Stat(storePath); err == nil {
		return 0, false, fmt.Errorf("embedded store %s already exists; refusing to overwrite it", storePath)
	}
	f, err := os.Open(file)
	if err != nil {
		return 0, false, fmt.Errorf("backup: %w", err)
	}
	defer f.Close()
	dec, err := age.Decrypt(f, ids...)
	if err != nil {
		return 0, false, fmt.Errorf("open backup %s: %w (it opens only with a key-holder's identity)", file, err)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return 0, false, fmt.Errorf("data directory: %w", err)
	}
	tr := tar.NewReader(dec)
	sawMarker := false
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return files, hadStore, fmt.Errorf("backup %s: %w", file, err)
		}
		var dst string
		switch name := h.Name; {
		case name == backupMarker:
			b, _ := io.ReadAll(io.LimitReader(tr, 64))
			if string(b) != backupVersion {
				return files, hadStore, fmt.Errorf("backup %s: unknown version %q", file, strings.TrimSpace(string(b)))
			}
			sawMarker = true
			continue
		case !sawMarker:
			return files, hadStore, fmt.Errorf("backup %s: not a Flare backup", file)
		case name == backupStore:
			dst, hadStore = storePath, true
		case strings.HasPrefix(name, backupData):
			rel := strings.TrimPrefix(name, backupData)
			// Only plain files under the data directory: no "..",
			// no absolute paths, no links.
			if h.Typeflag != tar.TypeReg || !filepath.IsLocal(rel) || path.Clean(rel) != rel {
				return files, hadStore, fmt.Errorf("backup %s: refusing entry %q", file, name)
			}
			dst = filepath.Join(dir, filepath.FromSlash(rel))
			files++
		default:
			return files, hadStore, fmt.Errorf("backup %s: unexpected entry %q", file, name)
		}
		if err := writeRestored(dst, tr); err != nil {
			return files, hadStore, err
		}
	}
	if !sawMarker {
		return 0, false, fmt.Errorf("backup %s: not a Flare backup", file)
	}
	return files, hadStore, nil
}

// writeRestored writes one file, private to its owner, and syncs it.
func writeRestored(dst string, r io.Reader) error {
	if err := os.MkdirAll(filepath.Dir(dst), 0o700); err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	f, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	_, err = io.Copy(f, r)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("restore %s: %w", dst, err)
	}
	return nil
}
