package backend

import (
	"context"
	"fmt"
	"strings"

	"github.com/flarehq/flare/queue"
	"github.com/flarehq/flare/queue/embedded"
	"github.com/flarehq/flare/queue/redis"
	"github.com/flarehq/flare/queue/remote"
)

// Schemes lists the URL schemes Open understands, for help texts.
var Schemes = []string{"file", "redis", "rediss", "onion"}

// Open opens the queue that url names. See the package documentation for
// the forms it accepts.
//
// Its errors never hold the URL's password: whatever a backend or a
// library below it says is passed through queue.RedactError.
func Open(ctx context.Context, url string) (queue.Queue, error) {
	q, err := open(ctx, url)
	if err != nil {
		return nil, queue.RedactError(err, url)
	}
	return q, nil
}

func open(ctx context.Context, url string) (queue.Queue, error) {
	switch scheme := Scheme(url); scheme {
	case "":
		return nil, fmt.Errorf("queue: no queue URL given (want file:PATH, redis://… or rediss://…)")
	case "file":
		path, err := embedded.ParseURL(url)
		if err != nil {
			return nil, err
		}
		s, err := embedded.Open(ctx, path, embedded.Options{})
		if err != nil {
			return nil, err
		}
		return s, nil
	case "redis", "rediss":
		q, err := redis.OpenURL(ctx, url)
		if err != nil {
			return nil, err
		}
		return q, nil
	case "onion":
		// A gateway's store, served to consoles over an onion service
		// with client authorization (queue/remote).
		return remote.OpenURL(url)
	default:
		return nil, fmt.Errorf("queue: unknown queue URL scheme %q (want file:PATH, redis://… or rediss://…)", scheme)
	}
}

// Scheme returns the lower-cased scheme of url: "file" for a plain path,
// and "" for an empty string.
func Scheme(url string) string {
	if strings.TrimSpace(url) == "" {
		return ""
	}
	i := strings.IndexByte(url, ':')
	if i <= 0 || strings.ContainsAny(url[:i], `/\.`) {
		return "file" // a plain path, such as ./queue.db or /var/lib/flare/q.db
	}
	scheme := strings.ToLower(url[:i])
	for _, r := range scheme {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '+' || r == '-') {
			return "file" // not a URL scheme: a file name with a colon
		}
	}
	return scheme
}
