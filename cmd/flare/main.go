// Command flare is Flare's one binary: the intake gateway, the key-holder's
// console, key generation and a one-process demo.
//
// Run "flare help" for the subcommands and "flare SUBCOMMAND --help" for
// each one's settings.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// app carries what every subcommand needs from the process, so that tests
// can run subcommands in-process with their own streams and environment.
type app struct {
	stdin   io.Reader
	stdout  io.Writer
	stderr  io.Writer
	environ []string
}

type command struct {
	name    string
	summary string
	run     func(ctx context.Context, a *app, args []string) error
}

func commands() []command {
	return []command{
		{"gateway", "run the intake gateway", runGateway},
		{"console", "read and triage tips as a key-holder (list, show, export, serve)", runConsole},
		{"keygen", "make a key-holder identity", runKeygen},
		{"config", "write the example configuration (config example)", runConfig},
		{"backup", "write an encrypted backup of the store and the data directory's keys", runBackup},
		{"restore", "recreate a data directory from a backup (restore FILE --identity ID)", runRestore},
		{"doctor", "check a deployment: permissions, keys, queue, tor, TLS, clock, disk, alerts", runDoctor},
		{"demo", "run a throwaway gateway on this machine to try Flare", runDemo},
		{"version", "print the version", runVersion},
	}
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	a := &app{stdin: os.Stdin, stdout: os.Stdout, stderr: os.Stderr, environ: os.Environ()}
	os.Exit(a.main(ctx, os.Args[1:]))
}

// main runs one subcommand and returns the exit code.
func (a *app) main(ctx context.Context, args []string) int {
	if len(args) == 0 {
		a.usage(a.stderr)
		return 2
	}
	if args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		// Asked-for help is output, not an error: standard output, exit 0.
		a.usage(a.stdout)
		return 0
	}
	for _, c := range commands() {
		if c.name != args[0] {
			continue
		}
		err := c.run(ctx, a, args[1:])
		switch {
		case err == nil:
			return 0
		case errors.Is(err, flag.ErrHelp):
			return 0
		case errors.Is(err, errUsage):
			fmt.Fprintf(a.stderr, "flare %s: %v\n", c.name, err)
			return 2
		default:
			fmt.Fprintf(a.stderr, "flare %s: %v\n", c.name, err)
			return 1
		}
	}
	fmt.Fprintf(a.stderr, "flare: unknown command %q\n\n", args[0])
	a.usage(a.stderr)
	return 2
}

var errUsage = errors.New("usage")

func usageError(format string, args ...any) error {
	return fmt.Errorf("%w: %s", errUsage, fmt.Sprintf(format, args...))
}

func (a *app) usage(w io.Writer) {
	fmt.Fprintf(w, "Flare: a secure, anonymous tip and distress-message gateway.\n\nUsage: flare COMMAND [flags]\n\nCommands:\n")
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-9s %s\n", c.name, c.summary)
	}
	fmt.Fprintf(w, "\nRun \"flare COMMAND --help\" for a command's flags.\n")
}
