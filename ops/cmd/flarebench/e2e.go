package main

import (
	"bytes"
	"context"
	"fmt"
	"mime/multipart"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/flarehq/flare/queue"
	"github.com/flarehq/flare/queue/backend"
)

type result struct {
	// gatewayCPU and redisCPU are the cores each process kept busy.
	gatewayCPU, redisCPU float64
	rate                 float64
	p50, p99             time.Duration
	ok                   int
	failed               int
}

// endToEnd runs the gateway on backend ("redis" or "embedded") and posts
// 1 KiB tips from o.concurrency clients for o.duration. Every tip counts
// only once the gateway answered "received", i.e. after the queue made it
// durable; the queue is counted afterwards to check.
func endToEnd(ctx context.Context, o options, k *keys, backendName string) (result, error) {
	dir, err := os.MkdirTemp("", "flarebench-")
	if err != nil {
		return result{}, err
	}
	defer os.RemoveAll(dir)
	queueURL := "file:" + filepath.Join(dir, "data", "flare.db")
	var rp *process
	if backendName == "redis" {
		rdir := filepath.Join(dir, "redis")
		os.MkdirAll(rdir, 0o700)
		var addr string
		rp, addr, err = startRedis(ctx, rdir)
		if err != nil {
			return result{}, err
		}
		defer rp.stop()
		queueURL = "redis://" + addr + "/0"
	}
	gw, addr, err := startGateway(ctx, o.flare, k.strings, queueURL, filepath.Join(dir, "data"))
	if err != nil {
		return result{}, err
	}
	defer gw.stop()

	body, contentType := benchBody()
	request := rawRequest(addr, body, contentType)
	// Warm up connections and the store.
	for range o.concurrency {
		c, err := newRawClient(addr, request)
		if err != nil {
			return result{}, err
		}
		if err := c.post(); err != nil {
			return result{}, fmt.Errorf("warm-up: %w", err)
		}
		c.close()
	}
	var (
		mu        sync.Mutex
		latencies []time.Duration
		failed    int
		dialErr   error
	)
	deadline := time.Now().Add(o.duration)
	gwCPU := cpuSeconds(gw.pid())
	var redisPID int
	if rp != nil {
		redisPID = rp.pid()
	}
	redisCPU := cpuSeconds(redisPID)
	start := time.Now()
	var wg sync.WaitGroup
	for range o.concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := newRawClient(addr, request)
			if err != nil {
				mu.Lock()
				dialErr = err
				mu.Unlock()
				return
			}
			defer c.close()
			var mine []time.Duration
			bad := 0
			for time.Now().Before(deadline) && ctx.Err() == nil {
				t0 := time.Now()
				if err := c.post(); err != nil {
					bad++
					if c.redial() != nil {
						break
					}
					continue
				}
				mine = append(mine, time.Since(t0))
			}
			mu.Lock()
			latencies = append(latencies, mine...)
			failed += bad
			mu.Unlock()
		}()
	}
	wg.Wait()
	var res result
	if dialErr != nil {
		return result{}, dialErr
	}
	elapsed := time.Since(start)
	res.gatewayCPU = (cpuSeconds(gw.pid()) - gwCPU) / elapsed.Seconds()
	if redisPID != 0 {
		res.redisCPU = (cpuSeconds(redisPID) - redisCPU) / elapsed.Seconds()
	}
	if len(latencies) == 0 {
		return result{}, fmt.Errorf("no tip was received")
	}
	slices.Sort(latencies)
	res = result{
		gatewayCPU: res.gatewayCPU,
		redisCPU:   res.redisCPU,
		rate:       float64(len(latencies)) / elapsed.Seconds(),
		p50:        latencies[len(latencies)/2],
		p99:        latencies[len(latencies)*99/100],
		ok:         len(latencies),
		failed:     failed,
	}
	gw.stop()
	queued, err := countTips(ctx, queueURL)
	if err != nil {
		return result{}, err
	}
	if want := res.ok + o.concurrency; queued < want {
		return result{}, fmt.Errorf("gateway acknowledged %d tips but the queue holds %d", want, queued)
	}
	return res, nil
}

func benchBody() ([]byte, string) {
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	mw.WriteField("kind", "tip")
	mw.WriteField("message", benchText)
	mw.Close()
	return b.Bytes(), mw.FormDataContentType()
}

func countTips(ctx context.Context, url string) (int, error) {
	q, err := backend.Open(ctx, url)
	if err != nil {
		return 0, err
	}
	defer q.Close()
	n, after := 0, ""
	for {
		msgs, err := q.List(ctx, queue.StreamTips, after, 1000)
		if err != nil {
			return 0, err
		}
		n += len(msgs)
		if len(msgs) < 1000 {
			return n, nil
		}
		after = msgs[len(msgs)-1].ID
	}
}
