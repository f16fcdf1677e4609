package queuetest

import (
	"context"
	"fmt"
	"runtime"
	"testing"

	"github.com/flarehq/flare/queue"
)

// BenchEnqueue measures Enqueue of 1 KiB bodies from concurrent writers,
// one sub-benchmark per writer count, reporting enqueues per second.
func BenchEnqueue(b *testing.B, q queue.Queue, writers ...int) {
	b.Helper()
	if len(writers) == 0 {
		writers = []int{1, 16, 64}
	}
	body := make([]byte, 1024)
	for i := range body {
		body[i] = byte(i * 7)
	}
	ctx := context.Background()
	committer, _ := q.(interface{ Commits() int64 })
	for _, w := range writers {
		b.Run(fmt.Sprintf("writers=%d", w), func(b *testing.B) {
			b.SetBytes(int64(len(body)))
			var commits int64
			if committer != nil {
				commits = committer.Commits()
			}
			b.SetParallelism(max(1, w/runtime.GOMAXPROCS(0)))
			if w < runtime.GOMAXPROCS(0) {
				// RunParallel starts at least GOMAXPROCS goroutines;
				// measure a lone writer in a plain loop instead.
				for b.Loop() {
					if _, err := q.Enqueue(ctx, queue.StreamTips, body); err != nil {
						b.Fatal(err)
					}
				}
			} else {
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						if _, err := q.Enqueue(ctx, queue.StreamTips, body); err != nil {
							b.Error(err)
							return
						}
					}
				})
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "enqueues/s")
			if committer != nil {
				if n := committer.Commits() - commits; n > 0 {
					b.ReportMetric(float64(b.N)/float64(n), "enqueues/commit")
				}
			}
		})
	}
}
