package web

import (
	"crypto/rand"
	"encoding/base64"
	"sync"
	"time"
)

// formTokens hands out one random token per form page and accepts each
// once, so a page the browser restores from its history (Back, Forward, a
// reopened tab) cannot be sent again. A token is 128 random bits and the
// time it was made, in memory only: it says nothing about who asked for
// it, and a restart forgets them all (the source then sees "this page was
// old" and writes again).
//
// The store is bounded: tokens expire after ttl, and when max are alive
// the oldest is dropped, so a flood of page loads costs a fixed amount of
// memory.
type formTokens struct {
	mu    sync.Mutex
	ttl   time.Duration
	max   int
	now   func() time.Time
	live  map[string]time.Time
	order []string // issue order, which is expiry order
}

const (
	defaultTokenTTL = 2 * time.Hour
	defaultTokenMax = 100_000
)

func newFormTokens(ttl time.Duration, max int) *formTokens {
	return &formTokens{ttl: ttl, max: max, now: time.Now, live: map[string]time.Time{}}
}

// Issue returns a fresh token.
func (ft *formTokens) Issue() string {
	var b [16]byte
	rand.Read(b[:])
	tok := base64.RawURLEncoding.EncodeToString(b[:])
	ft.mu.Lock()
	defer ft.mu.Unlock()
	now := ft.now()
	ft.expireLocked(now)
	for len(ft.live) >= ft.max && len(ft.order) > 0 {
		delete(ft.live, ft.order[0])
		ft.order = ft.order[1:]
	}
	ft.live[tok] = now
	ft.order = append(ft.order, tok)
	return tok
}

// Use reports whether tok is a live token, and spends it.
func (ft *formTokens) Use(tok string) bool {
	if len(tok) != 22 {
		return false
	}
	ft.mu.Lock()
	defer ft.mu.Unlock()
	ft.expireLocked(ft.now())
	if _, ok := ft.live[tok]; !ok {
		return false
	}
	delete(ft.live, tok)
	return true
}

// expireLocked drops expired tokens from the front of the order, and
// spent ones it meets there.
func (ft *formTokens) expireLocked(now time.Time) {
	for len(ft.order) > 0 {
		tok := ft.order[0]
		at, ok := ft.live[tok]
		if ok && now.Sub(at) < ft.ttl {
			break
		}
		delete(ft.live, tok)
		ft.order = ft.order[1:]
	}
	// Keep the slice from pinning a large spent prefix.
	if cap(ft.order) > 4*ft.max && len(ft.order) < ft.max {
		ft.order = append([]string(nil), ft.order...)
	}
}

// Len returns how many tokens are alive.
func (ft *formTokens) Len() int {
	ft.mu.Lock()
	defer ft.mu.Unlock()
	return len(ft.live)
}
