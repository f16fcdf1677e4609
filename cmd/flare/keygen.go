package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/flarehq/flare/crypto"
)

func runKeygen(ctx context.Context, a *app, args []string) error {
	fs := flag.NewFlagSet("keygen", flag.ContinueOnError)
	// Errors are returned and printed by main; asked-for help goes to
	// standard output.
	fs.SetOutput(io.Discard)
	pq := fs.Bool("pq", false, "make a post-quantum hybrid identity (age1pq… recipient)")
	out := fs.String("o", "", "write the identity to `FILE` (created 0600, never overwritten); default standard output")
	// flag calls Usage on every parse error too; help is printed only
	// when asked for, below.
	fs.Usage = func() {}
	usage := func() {
		fs.SetOutput(a.stdout)
		fmt.Fprintf(a.stdout, "Usage: flare keygen [--pq] [-o FILE]\n\nMakes a key-holder identity in age-keygen's format and prints its public\nkey (the recipient to give the gateway) on standard error.\n\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			usage()
			return err
		}
		return usageError("%v", err)
	}
	if fs.NArg() > 0 {
		return usageError("unexpected argument %q", fs.Arg(0))
	}
	file, recipient, err := crypto.NewIdentity(*pq, time.Now())
	if err != nil {
		return err
	}
	var w io.Writer = a.stdout
	if *out != "" {
		f, err := os.OpenFile(*out, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if errors.Is(err, os.ErrExist) {
			return fmt.Errorf("%s already exists; refusing to overwrite an identity", *out)
		}
		if err != nil {
			return fmt.Errorf("create identity file: %w", err)
		}
		defer f.Close()
		w = f
		if _, err := f.Write(file); err != nil {
			return fmt.Errorf("write identity file: %w", err)
		}
		if err := f.Sync(); err != nil {
			return fmt.Errorf("write identity file: %w", err)
		}
	} else if _, err := w.Write(file); err != nil {
		return fmt.Errorf("write identity: %w", err)
	}
	fmt.Fprintf(a.stderr, "Public key: %s\n", recipient)
	return nil
}
