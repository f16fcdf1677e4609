package sms

import (
	"context"
	"net/http"
	"sync"
	"testing"
	"time"
)

// TestCrashMidAttempt: a gateway that died after taking a message but
// before it was durable must not make the provider's retry look like a
// duplicate. While the dead attempt's lease lasts the retry is told to
// come back (503); after it, the retry is queued, once.
func TestCrashMidAttempt(t *testing.T) {
	env := vonageEnv(t, "md5hash", vonageSecret)
	env.ch.lease = 300 * time.Millisecond
	v := vonagePart(time.Now(), "0G01", "85512000999", "", 1, 1, "they moved us last night")
	m, err := vonageMessage(v)
	if err != nil {
		t.Fatal(err)
	}
	// The attempt that "dies": begun, never finished or aborted.
	if _, err := env.ch.begin(context.Background(), m.provider, m.id, env.ch.lease); err != nil {
		t.Fatal(err)
	}
	st, resp := sendVonage(env, "form", v)
	if st != http.StatusServiceUnavailable || env.queued() != 0 {
		t.Fatalf("retry during the lease: status %d (%q), %d queued; want 503, none", st, resp, env.queued())
	}
	// The queue rounds a short expiry up to a multiple of the lease
	// (queue.RememberExpiry), so the lease lasts at most twice as long.
	time.Sleep(2*env.ch.lease + 50*time.Millisecond)
	for i := range 2 {
		if st, resp := sendVonage(env, "form", v); st != http.StatusNoContent || env.queued() != 1 {
			t.Fatalf("retry %d after the lease: status %d (%q), %d queued; want 204, 1", i, st, resp, env.queued())
		}
	}
}

// TestConcurrentDeliveries sends the same message many times at once: it
// is queued exactly once, and every answer is a success or "try later".
func TestConcurrentDeliveries(t *testing.T) {
	env := vonageEnv(t, "md5hash", vonageSecret)
	v := vonagePart(time.Now(), "0H01", "85512000999", "", 1, 1, "room 12, third floor")
	var wg sync.WaitGroup
	statuses := make([]int, 8)
	for i := range statuses {
		wg.Add(1)
		go func() {
			defer wg.Done()
			statuses[i], _ = sendVonage(env, "form", v)
		}()
	}
	wg.Wait()
	ok := 0
	for _, st := range statuses {
		switch st {
		case http.StatusNoContent:
			ok++
		case http.StatusServiceUnavailable:
		default:
			t.Fatalf("status %d among %v", st, statuses)
		}
	}
	if ok == 0 || env.queued() != 1 {
		t.Fatalf("statuses %v, %d queued; want at least one 204, exactly 1 queued", statuses, env.queued())
	}
	if st, _ := sendVonage(env, "form", v); st != http.StatusNoContent || env.queued() != 1 {
		t.Fatalf("later retry: %d, %d queued", st, env.queued())
	}
}
