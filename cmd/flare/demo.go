package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/flarehq/flare/crypto"
)

func runDemo(ctx context.Context, a *app, args []string) error {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	// Errors are returned and printed by main; asked-for help goes to
	// standard output.
	fs.SetOutput(io.Discard)
	listen := fs.String("listen", "127.0.0.1:8080", "address for the demo's web intake (loopback; a free port is used if this one is taken)")
	keep := fs.Bool("keep", false, "keep the demo's folder (identity and store) when it stops")
	dir := fs.String("dir", "", "use this folder instead of a new temporary one")
	// flag calls Usage on every parse error too; help is printed only
	// when asked for, below.
	fs.Usage = func() {}
	usage := func() {
		fs.SetOutput(a.stdout)
		fmt.Fprintf(a.stdout, "Usage: flare demo [--listen ADDR] [--keep] [--dir DIR]\n\nRuns a throwaway Flare on this machine: a new key-holder identity, the\ngateway on the embedded store, and its web intake on loopback. It prints the\nintake address and the console commands that read what was submitted.\n\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			usage()
			return err
		}
		return usageError("%v", err)
	}
	host, _, err := net.SplitHostPort(*listen)
	if err != nil {
		return usageError("listen address %q: %v", *listen, err)
	}
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return usageError("the demo listens on loopback only, not %q", host)
	}

	root := *dir
	if root == "" {
		root, err = os.MkdirTemp("", "flare-demo-")
		if err != nil {
			return fmt.Errorf("demo folder: %w", err)
		}
		if !*keep {
			defer os.RemoveAll(root)
		}
	} else if err := os.MkdirAll(root, 0o700); err != nil {
		return fmt.Errorf("demo folder: %w", err)
	}
	identityPath := filepath.Join(root, "identity.txt")
	identity, recipient, err := crypto.NewIdentity(false, time.Now())
	if err != nil {
		return err
	}
	if err := writeNewFile(identityPath, func(w io.Writer) error { _, err := w.Write(identity); return err }); err != nil {
		return err
	}

	cfg := defaultGatewayConfig()
	cfg.Core.Recipients = []string{recipient}
	cfg.Core.DataDir = filepath.Join(root, "data")
	cfg.Core.Listen = *listen
	log, err := newLogger(a.stderr, "info", "text")
	if err != nil {
		return err
	}
	g, err := openGateway(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer g.Close()
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		// The default port is busy: take any free loopback port.
		ln, err = net.Listen("tcp", net.JoinHostPort(host, "0"))
		if err != nil {
			return fmt.Errorf("listen: %w", err)
		}
	}
	queueURL := cfg.Core.QueueURL()
	self := selfCommand()
	signingKey, _, err := crypto.LoadOrCreateSigningKey(signingKeyPath(&cfg.Core))
	if err != nil {
		return err
	}
	// The console checks every tip against the gateway's key; the demo
	// prints it into the commands so that they work as they are.
	trust := " --gateway-key " + signingKey.Public().String()
	fmt.Fprintf(a.stdout, `Flare demo is running. Everything is in %s.

  Send a tip:   http://%s/

  Read tips as the key-holder:
    %s console list --identity %s --queue %s%s
    %s console show ID --identity %s --queue %s%s

Stop with Ctrl-C.%s
`, root, ln.Addr(), self, identityPath, queueURL, trust, self, identityPath, queueURL, trust, keepNote(*keep || *dir != "", root))
	return g.server.Run(ctx, ln)
}

func keepNote(keep bool, root string) string {
	if keep {
		return " The folder is kept."
	}
	return " The folder and everything in it are deleted then."
}

// selfCommand is how to run this same binary again: "flare" when that is
// what PATH finds, else its full path.
func selfCommand() string {
	exe, err := os.Executable()
	if err != nil {
		return "flare"
	}
	if p, err := exec.LookPath("flare"); err == nil {
		if a, _ := filepath.EvalSymlinks(p); a != "" {
			if b, _ := filepath.EvalSymlinks(exe); a == b {
				return "flare"
			}
		}
	}
	if strings.ContainsAny(exe, " '\"") {
		return fmt.Sprintf("%q", exe)
	}
	return exe
}
