// Command flaresoak runs a gateway on loopback under a bounded mix of valid
// tips and every hostile request the intake must survive, for a set time,
// and reports what it cost: the gateway's peak RSS, its goroutines before
// and after, and how many valid tips were accepted and refused.
//
// The gateway is the real binary built with the soak tag (make soak does
// it), run as its own process on the embedded store in a temporary
// directory, with its default limits, caps and budgets. The soak build
// answers SIGUSR1 with its goroutine count on stdout; nothing else
// differs. All traffic goes to 127.0.0.1.
//
// The hostile mix: url-encoded bodies of hundreds of megabytes (declared
// and chunked), uploads stalled after 100 bytes of a declared 100 MB,
// bursts of concurrent uploads past the caps, cross-site posts, garbage
// multipart, bodies declared over the request limit and a file streamed
// past the attachment limit. Its bytes per minute stay under the default
// ingest budget, so every valid tip must be accepted.
//
// It exits non-zero when the peak RSS is over -rss-limit, when a valid tip
// was refused, or when the goroutines do not settle back after the run.
//
//	make soak
//	go run ./ops/cmd/flaresoak -flare bin/flare-soak -duration 20s
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"time"

	"github.com/dustin/go-humanize"
)

type options struct {
	flare      string
	duration   time.Duration
	tipEvery   time.Duration
	stalls     int
	burst      int
	rssLimit   string
	settleWait time.Duration
	keep       bool
}

func main() {
	var o options
	flag.StringVar(&o.flare, "flare", "bin/flare-soak", "the flare binary, built with -tags soak")
	// Longer than the default upload grace (60s), so that stalled
	// uploads are seen cut off.
	flag.DurationVar(&o.duration, "duration", 90*time.Second, "how long to send")
	flag.DurationVar(&o.tipEvery, "tip-every", 100*time.Millisecond, "interval between valid tips")
	flag.IntVar(&o.stalls, "stalls", 16, "uploads held stalled at any time")
	flag.IntVar(&o.burst, "burst", 40, "concurrent uploads in each burst")
	flag.StringVar(&o.rssLimit, "rss-limit", "256MiB", "the gateway's allowed peak RSS")
	flag.DurationVar(&o.settleWait, "settle", 30*time.Second, "how long goroutines may take to settle after the run")
	flag.BoolVar(&o.keep, "keep", false, "keep the temporary directory (gateway log) afterwards")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	ok, err := run(ctx, o)
	if err != nil {
		fmt.Fprintf(os.Stderr, "flaresoak: %v\n", err)
		os.Exit(2)
	}
	if !ok {
		os.Exit(1)
	}
}

func run(ctx context.Context, o options) (bool, error) {
	limit, err := humanize.ParseBytes(o.rssLimit)
	if err != nil {
		return false, fmt.Errorf("-rss-limit: %w", err)
	}
	dir, err := os.MkdirTemp("", "flaresoak-")
	if err != nil {
		return false, err
	}
	if o.keep {
		fmt.Printf("temporary directory: %s\n", dir)
	} else {
		defer os.RemoveAll(dir)
	}
	gw, err := startGateway(ctx, o.flare, dir)
	if err != nil {
		return false, err
	}
	defer gw.stop()
	before, err := gw.goroutines()
	if err != nil {
		return false, err
	}
	fmt.Printf("flaresoak: gateway pid %d on %s, %s of traffic\n", gw.pid(), gw.addr, o.duration)

	res := soak(ctx, o, "http://"+gw.addr)

	after, settled := gw.settle(before, o.settleWait)
	peak, err := peakRSS(gw.pid())
	if err != nil {
		return false, err
	}
	ok := true
	verdict := func(good bool) string {
		if good {
			return "ok"
		}
		ok = false
		return "FAIL"
	}
	fmt.Printf("peak RSS            %s (limit %s: %s)\n", humanize.IBytes(uint64(peak)), humanize.IBytes(limit), verdict(uint64(peak) <= limit))
	fmt.Printf("goroutines          %d before, %d after (%s)\n", before, after, verdict(settled))
	fmt.Printf("valid tips          %d accepted, %d refused (%s)\n", res.accepted, res.refused, verdict(res.refused == 0 && res.accepted > 0))
	for _, r := range res.refusalSamples {
		fmt.Printf("  refused: %s\n", r)
	}
	fmt.Printf("hostile requests    %d sent, %d answered as expected, %d otherwise\n", res.hostile.sent(), res.hostile.expected(), res.hostile.sent()-res.hostile.expected())
	for _, line := range res.hostile.lines() {
		fmt.Printf("  %s\n", line)
	}
	fmt.Printf("hostile bytes sent  %s\n", humanize.IBytes(uint64(res.hostileBytes.Load())))
	return ok, nil
}
