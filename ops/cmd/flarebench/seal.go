package main

import (
	"context"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"filippo.io/age"

	"github.com/flarehq/flare/crypto"
)

type keys struct {
	identities []*age.X25519Identity
	recipients []age.Recipient
	strings    []string
}

func newKeys(n int) (*keys, error) {
	k := &keys{}
	for range n {
		id, err := age.GenerateX25519Identity()
		if err != nil {
			return nil, fmt.Errorf("generate key: %w", err)
		}
		k.identities = append(k.identities, id)
		k.recipients = append(k.recipients, id.Recipient())
		k.strings = append(k.strings, id.Recipient().String())
	}
	return k, nil
}

// benchText is the 1 KiB message every run sends.
var benchText = strings.Repeat("Please help, we are held in building C. ", 26)[:1024]

// sealCeiling seals 1 KiB tips on every core for d and returns tips/s: the
// most any end-to-end path could reach on this machine.
func sealCeiling(ctx context.Context, k *keys, d time.Duration) (float64, error) {
	s, err := crypto.NewSealer(k.recipients...)
	if err != nil {
		return 0, err
	}
	var n atomic.Int64
	var firstErr atomic.Value
	deadline := time.Now().Add(d)
	var wg sync.WaitGroup
	start := time.Now()
	for range runtime.GOMAXPROCS(0) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			tip := &crypto.Tip{ID: "bench", Channel: "web", Kind: crypto.KindTip, Text: benchText, Received: crypto.CoarsenTime(time.Now())}
			for time.Now().Before(deadline) && ctx.Err() == nil {
				if _, err := s.SealTip(tip); err != nil {
					firstErr.CompareAndSwap(nil, err)
					return
				}
				n.Add(1)
			}
		}()
	}
	wg.Wait()
	if err, ok := firstErr.Load().(error); ok {
		return 0, err
	}
	return float64(n.Load()) / time.Since(start).Seconds(), nil
}
