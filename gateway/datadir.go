package gateway

import (
	"fmt"
	"log/slog"
	"os"
)

// PrepareDataDir makes sure the gateway's data directory exists and only
// its owner can enter it: it holds the keyed-hash secret, the onion
// service's key and, by default, the embedded store. A new directory is
// created with mode 0700; an existing one that group or others can reach
// (such as a 0755 folder made by hand or by a package) is tightened to
// 0700, and the log says so.
func PrepareDataDir(dir string, log *slog.Logger) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("data directory: %w", err)
	}
	info, err := os.Stat(dir)
	if err != nil {
		return fmt.Errorf("data directory: %w", err)
	}
	if !info.IsDir() {
		return fmt.Errorf("data directory %s is not a directory", dir)
	}
	mode := info.Mode().Perm()
	if mode&0o077 == 0 {
		return nil
	}
	if err := os.Chmod(dir, 0o700); err != nil {
		return fmt.Errorf("data directory %s has mode %04o and cannot be tightened to 0700: %w", dir, mode, err)
	}
	log.Warn("data directory was open to other users; tightened to 0700", "dir", dir, "was", fmt.Sprintf("%04o", uint32(mode)))
	return nil
}
