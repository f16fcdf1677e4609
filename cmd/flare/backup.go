package main

import (
	"archive/tar"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"filippo.io/age"
	_ "modernc.org/sqlite" // the embedded store's driver, for VACUUM INTO

	"github.com/flarehq/flare/ops/config"
	"github.com/flarehq/flare/queue/embedded"
)

// A backup archive is a tar stream, age-encrypted as a whole to the
// key-holders' recipients:
//
//	FLARE-BACKUP        "flare backup 1"
//	data/…              every file of the data directory but the live store
//	                    (hash.key, onion/hs_ed25519_secret_key, …)
//	store/flare.db      a consistent snapshot of the embedded store
//
// Only a key-holder's identity opens it; the gateway that writes it cannot.
const (
	backupMarker  = "FLARE-BACKUP"
	backupVersion = "flare backup 1\n"
	backupStore   = "store/flare.db"
	backupData    = "data/"
)

// backupSettings are the gateway's settings (the same file, data
// directory, queue and recipients) and the archive to write.
func backupSettings(cfg *gatewayConfig, out *string) []config.Setting {
	return append(cfg.settings(), config.Setting{Key: "backup_output", Flag: "o", Help: "the archive to write (created 0600, never overwritten)", Value: config.String(out)})
}

// runBackup is "flare backup -o FILE": an online, consistent copy of the
// embedded store and the data directory's secrets, sealed to the
// key-holders.
func runBackup(ctx context.Context, a *app, args []string) error {
	cfg := defaultGatewayConfig()
	cfg.Core.DataDir = defaultDataDir(a.environ, cfg.Core.DataDir)
	var out string
	rest, err := config.Load("backup", backupSettings(cfg, &out), args, a.environ, a.stdout)
	if err != nil {
		return err
	}
	if len(rest) > 0 {
		return usageError("unexpected argument %q", rest[0])
	}
	if out == "" {
		return usageError("give the archive to write with -o FILE")
	}
	recipients, err := loadRecipients(&cfg.Core)
	if err != nil {
		return err
	}
	if len(recipients) == 0 {
		return usageError("no key-holder recipients to seal the backup to (give --recipient or --recipients-file, or the gateway's config)")
	}
	n, err := backup(ctx, cfg.Core.DataDir, cfg.Core.QueueURL(), out, recipients)
	if err != nil {
		return err
	}
	fmt.Fprintf(a.stderr, "Backed up %d files of %s", n, cfg.Core.DataDir)
	if strings.HasPrefix(cfg.Core.QueueURL(), "file:") {
		fmt.Fprint(a.stderr, " and a snapshot of the embedded store")
	} else {
		fmt.Fprint(a.stderr, "; the Redis queue is not in it: back Redis up with its own persistence (its append-only file)")
	}
	fmt.Fprintf(a.stderr, " to %s, sealed to %d key-holder(s).\n", out, len(recipients))
	return nil
}

// backup writes the archive to out and returns how many data directory
// files it holds.
func backup(ctx context.Context, dir string, queueURL, out string, recipients []age.Recipient) (int, error) {
	if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
		return 0, fmt.Errorf("data directory %s: %w", dir, errors.Join(err, errNotDir(fi)))
	}
	// The snapshot is made first, next to the archive, and removed at the
	// end; it holds only what the store holds (ciphertext).
	tmp, err := os.MkdirTemp(filepath.Dir(out), ".flare-backup-")
	if err != nil {
		return 0, fmt.Errorf("backup: %w", err)
	}
	defer os.RemoveAll(tmp)
	var storePath, snapshot string
	if strings.HasPrefix(queueURL, "file:") {
		if storePath, err = embedded.ParseURL(queueURL); err != nil {
			return 0, err
		}
		snapshot = filepath.Join(tmp, "flare.db")
		if err := snapshotStore(ctx, storePath, snapshot); err != nil {
			return 0, err
		}
	}

	f, err := os.OpenFile(out, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, os.ErrExist) {
		return 0, fmt.Errorf("%s already exists; refusing to overwrite it", out)
	}
	if err != nil {
		return 0, fmt.Errorf("backup: %w", err)
	}
	n, err := writeBackup(f, dir, storePath, snapshot, recipients)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(out)
		return 0, fmt.Errorf("backup %s: %w", out, err)
	}
	return n, nil
}

func errNotDir(fi os.FileInfo) error {
	if fi != nil && !fi.IsDir() {
		return errors.New("not a directory")
	}
	return nil
}

// snapshotStore copies the live store at path into dst with VACUUM INTO:
// one read transaction, so the copy is consistent while the gateway goes on
// writing (WAL readers never block the writer).
func snapshotStore(ctx context.Context, path, dst string) error {
	if _, err := os.Stat(path); err != nil {
		return fmt.Errorf("embedded store: %w", err)
	}
	u := url.URL{Scheme: "file", Path: filepath.ToSlash(path)}
	db, err := sql.Open("sqlite", u.String()+"?_pragma=busy_timeout(10000)")
	if err != nil {
		return fmt.Errorf("embedded store: %w", err)
	}
	defer db.Close()
	ctx, cancel := context.WithTimeout(ctx, 10*time.Minute)
	defer cancel()
	if _, err := db.ExecContext(ctx, "VACUUM INTO ?", dst); err != nil {
		return fmt.Errorf("snapshot of the embedded store: %w", err)
	}
	return nil
}

func writeBackup(w io.Writer, dir, storePath, snapshot string, recipients []age.Recipient) (int, error) {
	enc, err := age.Encrypt(w, recipients...)
	if err != nil {
		return 0, err
	}
	tw := tar.NewWriter(enc)
	// Times in the archive say no more than the hour (it is sealed, but
	// the rule is simple to keep everywhere).
	hour := time.Now().UTC().Truncate(time.Hour)
	add := func(name string, mode int64, r io.Reader, size int64) error {
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: mode, Size: size, ModTime: hour, Typeflag: tar.TypeReg, Format: tar.FormatPAX}); err != nil {
			return err
		}
		_, err := io.Copy(tw, r)
		return err
	}
	if err := add(backupMarker, 0o600, strings.NewReader(backupVersion), int64(len(backupVersion))); err != nil {
		return 0, err
	}
	skip := map[string]bool{}
	if storePath != "" {
		abs, _ := filepath.Abs(storePath)
		for _, suffix := range []string{"", "-wal", "-shm", "-journal"} {
			skip[abs+suffix] = true
		}
	}
	n := 0
	err = filepath.WalkDir(dir, func(path string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		abs, _ := filepath.Abs(path)
		if !e.Type().IsRegular() || skip[abs] {
			return nil
		}
		rel, err := filepath.Rel(dir, path)
		if err != nil {
			return err
		}
		f, err := os.Open(path)
		if err != nil {
			return err
		}
		defer f.Close()
		fi, err := f.Stat()
		if err != nil {
			return err
		}
		n++
		return add(backupData+filepath.ToSlash(rel), 0o600, f, fi.Size())
	})
	if err != nil {
		return 0, fmt.Errorf("data directory: %w", err)
	}
	if snapshot != "" {
		f, err := os.Open(snapshot)
		if err != nil {
			return 0, err
		}
		defer f.Close()
		fi, err := f.Stat()
		if err != nil {
			return 0, err
		}
		if err := add(backupStore, 0o600, f, fi.Size()); err != nil {
			return 0, err
		}
	}
	if err := tw.Close(); err != nil {
		return 0, err
	}
	return n, enc.Close()
}
