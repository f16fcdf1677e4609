package queue

import "time"

// TimePrecision is the finest time that anything a backend stores outside
// the seal may carry: message ids (and so Message.Enqueued), the expiries
// of remembered keys and the creation times of attachment blobs. With a
// carrier's log of SMS times, a millisecond id once tied a phone number
// to a tip; an hour is shared by every tip of that hour.
const TimePrecision = time.Hour

// HourMillis returns t in Unix milliseconds, rounded down to the hour. A
// backend assigns message ids "<HourMillis(now)>-<seq>" (or a larger ms
// part already in the stream) and records a blob's creation with it.
func HourMillis(t time.Time) int64 {
	const h = int64(TimePrecision / time.Millisecond)
	ms := t.UnixMilli()
	return ms - ms%h
}

// RememberExpiry returns when a key that Remember records at now for ttl
// expires, as a backend stores it: now+ttl rounded up to the hour when
// ttl is an hour or more. A shorter ttl, such as a lease held while one
// request is processed, is rounded up to a multiple of itself: the key
// then lives between ttl and twice ttl, and its expiry dates the moment
// it was set no more finely than the key's mere presence does.
func RememberExpiry(now time.Time, ttl time.Duration) time.Time {
	grain := min(ttl, TimePrecision).Milliseconds()
	if grain < 1 {
		grain = 1
	}
	end := now.Add(ttl)
	ms := end.UnixMilli()
	if end.After(time.UnixMilli(ms)) {
		ms++ // never before now+ttl
	}
	if r := ms % grain; r != 0 {
		ms += grain - r
	}
	return time.UnixMilli(ms).UTC()
}

// SweepCutoff returns the latest blob creation time, as HourMillis
// recorded it, that SweepBlobs(before) may remove: a blob created in the
// hour starting at created is known to be older than before only if that
// whole hour lies before it.
func SweepCutoff(before time.Time) int64 {
	return before.UnixMilli() - int64(TimePrecision/time.Millisecond)
}
