package telegram

import (
	"sync"
	"time"
)

// limiter is a token bucket per chat, keyed by a keyed hash of the chat id
// so that the map holds no identifier. It lives in memory only.
type limiter struct {
	mu      sync.Mutex
	burst   float64
	perSec  float64
	buckets map[string]*bucket
	pruned  time.Time
}

type bucket struct {
	tokens   float64
	last     time.Time
	warnedAt time.Time
}

func newLimiter(burst, perMinute int) *limiter {
	return &limiter{
		burst:   float64(burst),
		perSec:  float64(perMinute) / 60,
		buckets: map[string]*bucket{},
	}
}

// allow takes one token for key. When it refuses, warn says whether the
// chat should be told to slow down (at most once a minute).
func (l *limiter) allow(key string, now time.Time) (ok, warn bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.prune(now)
	b := l.buckets[key]
	if b == nil {
		b = &bucket{tokens: l.burst, last: now}
		l.buckets[key] = b
	}
	b.tokens = min(l.burst, b.tokens+now.Sub(b.last).Seconds()*l.perSec)
	b.last = now
	if b.tokens >= 1 {
		b.tokens--
		return true, false
	}
	if now.Sub(b.warnedAt) >= time.Minute {
		b.warnedAt = now
		return false, true
	}
	return false, false
}

// prune drops full buckets, at most once a minute, so the map stays as
// small as the set of recently active chats.
func (l *limiter) prune(now time.Time) {
	if now.Sub(l.pruned) < time.Minute {
		return
	}
	l.pruned = now
	for k, b := range l.buckets {
		if b.tokens+now.Sub(b.last).Seconds()*l.perSec >= l.burst && now.Sub(b.warnedAt) >= time.Minute {
			delete(l.buckets, k)
		}
	}
}

// seen is the in-memory fast path of update deduplication: update ids
// handled recently by this instance. Queue.Remember is the shared one.
type seen struct {
	mu  sync.Mutex
	ids map[int]time.Time
	ttl time.Duration
	max int
}

func newSeen(ttl time.Duration, max int) *seen {
	return &seen{ids: map[int]time.Time{}, ttl: ttl, max: max}
}

// first records id and reports whether it was new.
func (s *seen) first(id int, now time.Time) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if t, ok := s.ids[id]; ok && now.Sub(t) < s.ttl {
		return false
	}
	if len(s.ids) >= s.max {
		for k, t := range s.ids {
			if now.Sub(t) >= s.ttl {
				delete(s.ids, k)
			}
		}
		// Still full: forget half of them. The shared marker in the
		// queue still catches a late duplicate.
		if len(s.ids) >= s.max {
			n := 0
			for k := range s.ids {
				delete(s.ids, k)
				if n++; n >= s.max/2 {
					break
				}
			}
		}
	}
	s.ids[id] = now
	return true
}

// forget undoes first, for an update that could not be handled and should
// be handled when it comes again.
func (s *seen) forget(id int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.ids, id)
}
