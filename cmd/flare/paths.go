package main

import (
	"os/user"
	"strings"
)

// serviceDataDir is where an installed Flare keeps its state: the Debian
// package creates it (0700, owned by the flare user) and the systemd unit
// lets the gateway write there and nowhere else.
const serviceDataDir = "/var/lib/flare"

// defaultDataDir picks the data directory's default. Run as a service, a
// relative default would land wherever the service manager starts the
// process ("/flare-data" under systemd), so there it is absolute:
// $STATE_DIRECTORY when the unit has StateDirectory=, else /var/lib/flare
// when systemd started the process ($INVOCATION_ID or $NOTIFY_SOCKET) or
// it runs as the flare system user. Anywhere else — "make demo", a
// developer's shell — it stays relative (fallback, "flare-data") so that
// trying Flare needs no root. A --data-dir, FLARE_DATA_DIR or data_dir in
// the file overrides either.
func defaultDataDir(environ []string, fallback string) string {
	env := map[string]string{}
	for _, kv := range environ {
		if k, v, ok := strings.Cut(kv, "="); ok {
			env[k] = v
		}
	}
	// StateDirectory= may list several, colon-separated; Flare's unit
	// has one.
	if dirs := env["STATE_DIRECTORY"]; dirs != "" {
		first, _, _ := strings.Cut(dirs, ":")
		if strings.HasPrefix(first, "/") {
			return first
		}
	}
	if env["INVOCATION_ID"] != "" || env["NOTIFY_SOCKET"] != "" {
		return serviceDataDir
	}
	if u, err := user.Current(); err == nil && u.Username == "flare" {
		return serviceDataDir
	}
	return fallback
}
