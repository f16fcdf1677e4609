// Command flarebench measures Flare on this machine: the seal-only ceiling,
// end-to-end intake throughput and latency on Redis and on the embedded
// store, and the gateway's peak memory while a large file streams through.
//
// It runs the real binary (bin/flare, see -flare) as a separate process,
// and a real redis-server with appendfsync always, all on loopback; nothing
// leaves the machine.
//
//	make bench                     # everything
//	go run ./ops/cmd/flarebench -only rss
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"runtime"
	"strings"
	"time"
)

type options struct {
	flare       string
	duration    time.Duration
	concurrency int
	recipients  int
	rssSize     int64
	rssLimit    int64
	only        string
}

func main() {
	var o options
	flag.StringVar(&o.flare, "flare", "bin/flare", "the flare binary to run as the gateway")
	flag.DurationVar(&o.duration, "duration", 10*time.Second, "how long each throughput run lasts")
	flag.IntVar(&o.concurrency, "concurrency", 32, "concurrent clients in the end-to-end runs")
	flag.IntVar(&o.recipients, "recipients", 3, "key-holder recipients each tip is sealed to")
	flag.Int64Var(&o.rssSize, "rss-size", 200<<20, "size of the file streamed in the memory run")
	flag.Int64Var(&o.rssLimit, "rss-limit", 64<<20, "the gateway's allowed peak RSS in the memory run")
	flag.StringVar(&o.only, "only", "", "run only these parts, comma-separated: seal, redis, embedded, rss")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, o); err != nil {
		fmt.Fprintf(os.Stderr, "flarebench: %v\n", err)
		os.Exit(1)
	}
}

func (o options) want(part string) bool {
	if o.only == "" {
		return true
	}
	for _, p := range strings.Split(o.only, ",") {
		if strings.TrimSpace(p) == part {
			return true
		}
	}
	return false
}

func run(ctx context.Context, o options) error {
	fmt.Printf("flarebench: %d CPUs, GOMAXPROCS %d, %d recipients, 1 KiB tips, %s per run, %d clients\n\n",
		runtime.NumCPU(), runtime.GOMAXPROCS(0), o.recipients, o.duration, o.concurrency)
	keys, err := newKeys(o.recipients)
	if err != nil {
		return err
	}
	var ceiling float64
	if o.want("seal") || o.want("redis") || o.want("embedded") {
		ceiling, err = sealCeiling(ctx, keys, o.duration)
		if err != nil {
			return err
		}
		fmt.Printf("%-34s %9.0f tips/s\n", "seal-only ceiling (all cores)", ceiling)
	}
	failed := false
	for _, b := range []struct {
		name, target string
		ratio        float64
	}{{"redis", "redis (appendfsync always)", 0.8}, {"embedded", "embedded (fsync every ack)", 0.5}} {
		if !o.want(b.name) {
			continue
		}
		res, err := endToEnd(ctx, o, keys, b.name)
		if err != nil {
			return fmt.Errorf("%s: %w", b.name, err)
		}
		ratio := res.rate / ceiling
		verdict := "ok"
		if ratio < b.ratio {
			verdict = fmt.Sprintf("BELOW target %.2f", b.ratio)
			failed = true
		}
		fmt.Printf("%-34s %9.0f tips/s  p50 %6.1f ms  p99 %6.1f ms  ratio %.2f (%s); %d queued, %d refused\n",
			"POST /submit → "+b.target, res.rate, ms(res.p50), ms(res.p99), ratio, verdict, res.ok, res.failed)
		fmt.Printf("%-34s gateway used %.2f cores, redis %.2f\n", "", res.gatewayCPU, res.redisCPU)
		if res.failed > 0 {
			failed = true
		}
	}
	if o.want("rss") {
		peak, err := peakRSS(ctx, o, keys)
		if err != nil {
			return fmt.Errorf("rss: %w", err)
		}
		verdict := "ok"
		if peak > o.rssLimit {
			verdict = "ABOVE limit"
			failed = true
		}
		fmt.Printf("%-34s %6.1f MiB peak RSS for a %d MiB upload (limit %d MiB: %s)\n",
			"gateway memory, large upload", float64(peak)/(1<<20), o.rssSize>>20, o.rssLimit>>20, verdict)
	}
	if failed {
		return fmt.Errorf("a target was missed")
	}
	return nil
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
