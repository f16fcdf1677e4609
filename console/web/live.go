package web

import (
	"fmt"
	"net/http"
	"time"

	"github.com/flarehq/flare/queue"
)

// The inbox notices new tips by itself. Without JavaScript it reloads
// every inboxRefresh (a meta refresh inside <noscript>, so that it never
// reloads under a key-holder typing with scripts on). With JavaScript,
// static/live.js listens to /events, a server-sent event stream that says
// "tips" once a tip newer than the page's arrives, and reloads then.

// inboxRefresh is how often the inbox reloads without JavaScript.
const inboxRefresh = 30

// eventsPoll is how often /events looks at the queue: one List of one
// message, no decryption.
const eventsPoll = 2 * time.Second

// eventsMax bounds one /events stream; the browser reconnects.
const eventsMax = 10 * time.Minute

// refreshOf is the inbox's meta refresh, in seconds; 0 for other pages.
func refreshOf(body any) int {
	if _, ok := body.(inboxBody); ok {
		return inboxRefresh
	}
	return 0
}

// localTime shows t in the console machine's zone, with the zone's name:
// the key-holder's own clock.
func localTime(t time.Time) string {
	return t.Local().Format("2006-01-02 15:04 MST")
}

// waited says how long ago t was, as a key-holder reads it at a glance.
func waited(now, t time.Time) string {
	d := now.Sub(t)
	switch {
	case d < time.Minute:
		return "just now"
	case d < time.Hour:
		return fmt.Sprintf("%d min ago", int(d.Minutes()))
	case d < 48*time.Hour:
		h, m := int(d.Hours()), int(d.Minutes())%60
		if m == 0 {
			return fmt.Sprintf("%d h ago", h)
		}
		return fmt.Sprintf("%d h %d min ago", h, m)
	}
	return fmt.Sprintf("%d days ago", int(d.Hours()/24))
}

// events streams "tips" when a tip newer than ?after= arrives.
func (s *Server) events(w http.ResponseWriter, r *http.Request) {
	after := r.URL.Query().Get("after")
	if after != "" && !validQueueID(after) {
		http.Error(w, "after: not a queue id", http.StatusBadRequest)
		return
	}
	flusher, ok := w.(http.Flusher)
	if !ok {
		http.Error(w, "streaming unsupported", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	fmt.Fprint(w, "retry: 5000\n\n")
	flusher.Flush()
	ctx := r.Context()
	tick := time.NewTicker(eventsPoll)
	defer tick.Stop()
	end := time.After(eventsMax)
	for {
		msgs, err := s.con.Queue().List(ctx, queue.StreamTips, after, 1)
		if err == nil && len(msgs) > 0 {
			fmt.Fprint(w, "event: tips\ndata: new\n\n")
			flusher.Flush()
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-end:
			return
		case <-tick.C:
			fmt.Fprint(w, ": still here\n\n")
			flusher.Flush()
		}
	}
}

// validQueueID reports whether id looks like "<ms>-<seq>".
func validQueueID(id string) bool {
	if len(id) > 45 {
		return false
	}
	dash := false
	for i, c := range id {
		switch {
		case c >= '0' && c <= '9':
		case c == '-' && !dash && i > 0 && i < len(id)-1:
			dash = true
		default:
			return false
		}
	}
	return dash
}
