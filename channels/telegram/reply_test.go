package telegram

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"testing"
	"time"

	"filippo.io/age"

	"github.com/flarehq/flare/channels"
	"github.com/flarehq/flare/channels/telegram/telegramtest"
	"github.com/flarehq/flare/crypto"
	"github.com/flarehq/flare/gateway"
	"github.com/flarehq/flare/internal/sentinel"
	"github.com/flarehq/flare/internal/testredis"
	"github.com/flarehq/flare/queue"
)

// clock is the real time moved on by a settable offset, for the outbox's
// expiry.
type clock struct {
	mu  sync.Mutex
	off time.Duration
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.off)
}

func (c *clock) add(d time.Duration) { c.mu.Lock(); c.off += d; c.mu.Unlock() }

// replyRig is a channel with an outbox sealed to a test gateway identity.
type replyRig struct {
	*harness
	id    *age.X25519Identity
	clock *clock
	ttl   time.Duration
}

func newReplyRig(t *testing.T, o harnessOpts, id *age.X25519Identity, name string, lease time.Duration) *replyRig {
	t.Helper()
	if id == nil {
		var err error
		if id, err = age.GenerateX25519Identity(); err != nil {
			t.Fatal(err)
		}
	}
	r := &replyRig{id: id, clock: &clock{}, ttl: 400 * time.Millisecond}
	o.outbox = func(q queue.Queue) channels.Outbox {
		ob, err := gateway.NewOutbox(gateway.OutboxConfig{Queue: q, Identity: id, Name: name, Lease: lease, Now: r.clock.now})
		if err != nil {
			t.Fatal(err)
		}
		return ob
	}
	prev := o.cfg
	o.cfg = func(c *Config) {
		c.ReplyTTL = r.ttl
		c.OutboxEvery = 20 * time.Millisecond
		if prev != nil {
			prev(c)
		}
	}
	r.harness = newHarness(t, o)
	return r
}

// put seals a reply for chatID to the rig's gateway and queues it.
func (r *replyRig) put(chatID int64, text, when, caseKey string) crypto.OutboxEntry {
	r.t.Helper()
	e := crypto.OutboxEntry{ID: "r-" + strconv.FormatInt(time.Now().UnixNano(), 36), Channel: Name, Address: strconv.FormatInt(chatID, 10),
		Text: text, When: when, Expires: r.clock.now().Add(7 * 24 * time.Hour), Case: caseKey}
	sealed, err := crypto.SealOutbox(&e, r.id.Recipient())
	if err != nil {
		r.t.Fatal(err)
	}
	if _, err := r.q.Enqueue(context.Background(), queue.StreamOutbox, sealed); err != nil {
		r.t.Fatal(err)
	}
	return e
}

func (r *replyRig) state(replyID string) string {
	v, _, err := r.q.GetRecord(context.Background(), gateway.StateKey(replyID))
	if errors.Is(err, queue.ErrNotFound) {
		return ""
	} else if err != nil {
		r.t.Fatal(err)
	}
	return string(v)
}

func (r *replyRig) outboxLen() int {
	msgs, err := r.q.List(context.Background(), queue.StreamOutbox, "", 10)
	if err != nil {
		r.t.Fatal(err)
	}
	return len(msgs)
}

// protectedSends are the sendMessage calls with protect_content.
func protectedSends(srv *telegramtest.Server) []telegramtest.Call {
	var out []telegramtest.Call
	for _, c := range srv.Calls("sendMessage") {
		if c.Params.Get("protect_content") == "true" {
			out = append(out, c)
		}
	}
	return out
}

// deletedAt is when the bot asked to delete message id of chatID, or the
// zero time.
func deletedAt(srv *telegramtest.Server, chatID int64, id int) time.Time {
	for _, c := range srv.Calls("deleteMessage") {
		if c.Params.Get("chat_id") == strconv.FormatInt(chatID, 10) && c.Params.Get("message_id") == strconv.Itoa(id) {
			return c.At
		}
	}
	return time.Time{}
}

// The bot sends nothing until the source checks in; then it shows the
// reply with protect_content, takes the source's answer as a tip in the
// same case, and after the delay deletes the reply, the check-in, the
// answer and its receipt. Nothing of the reply, the answer or the chat id
// is in the store, Redis or the logs.
func TestReplyWaitsForCheckIn(t *testing.T) {
	for _, redis := range []bool{false, true} {
		name := "embedded"
		if redis {
			name = "redis"
		}
		t.Run(name, func(t *testing.T) {
			o := harnessOpts{}
			var rs *testredis.Server
			if redis {
				o.q, rs = redisQueue(t)
			}
			r := newReplyRig(t, o, nil, "gw-a", 0)
			src := telegramtest.User{ID: 733100442, FirstName: "Src", Language: "en"}
			const replyText, answerText = "REPLY-SENTINEL-5521 which building?", "ANSWER-SENTINEL-9931 the blue one"
			e := r.put(src.ID, replyText, crypto.DeliverAtCheckIn, "case-7f3a")

			// Several outbox scans pass; the bot writes nothing.
			time.Sleep(300 * time.Millisecond)
			if n := len(r.srv.Calls("sendMessage")); n != 0 {
				t.Fatalf("bot wrote %d messages before the check-in", n)
			}
			if st := r.state(e.ID); st != "" {
				t.Fatalf("reply state %q before the check-in", st)
			}

			checkinAt := time.Now()
			r.deliver(r.srv.Text(src, "Fertilizer"), "sendMessage", 1)
			sends := protectedSends(r.srv)
			if len(sends) != 1 || sends[0].Params.Get("text") != replyText || sends[0].Params.Get("chat_id") != strconv.FormatInt(src.ID, 10) {
				t.Fatalf("protected sends %+v, want the reply once", sends)
			}
			waitFor(t, "delivered state", func() bool { return r.state(e.ID) == string(gateway.Delivered) })
			// The state is written first, then the entry deleted.
			waitFor(t, "outbox entry deleted", func() bool { return r.outboxLen() == 0 })

			r.deliver(r.srv.Text(src, answerText), "sendMessage", 1)
			var tips []*crypto.Tip
			waitFor(t, "answer sealed", func() bool { tips = r.tips(); return len(tips) == 1 })
			if tips[0].Text != answerText || tips[0].Fields[FieldCase] != "case-7f3a" {
				t.Fatalf("answer tip text %q fields %v, want the answer in case-7f3a", tips[0].Text, tips[0].Fields)
			}

			// Every message of the exchange goes, none before the delay.
			msgs := r.srv.Messages(src.ID)
			if len(msgs) != 4 {
				t.Fatalf("%d messages in the chat, want check-in, reply, answer, receipt", len(msgs))
			}
			for _, m := range msgs {
				waitFor(t, "message deleted", func() bool { return !deletedAt(r.srv, src.ID, m.ID).IsZero() })
				if d := deletedAt(r.srv, src.ID, m.ID).Sub(checkinAt); d < r.ttl {
					t.Errorf("message %d deleted %v after the check-in, before the delay %v", m.ID, d, r.ttl)
				}
			}
			r.stop()

			sentinels := []string{"REPLY-SENTINEL-5521", "ANSWER-SENTINEL-9931", strconv.FormatInt(src.ID, 10)}
			dirs := []string{r.dir}
			if rs != nil {
				dirs = append(dirs, rs.Dir())
				found, err := sentinel.Redis(context.Background(), rs.Addr(), sentinels...)
				if err != nil {
					t.Fatal(err)
				}
				for _, f := range found {
					t.Error(f)
				}
			}
			for _, d := range dirs {
				found, err := sentinel.Dir(d, sentinels...)
				if err != nil {
					t.Fatal(err)
				}
				for _, f := range found {
					t.Error(f)
				}
			}
			for _, f := range sentinel.Bytes([]byte(r.logs.String()), "logs", sentinels...) {
				t.Error(f)
			}
		})
	}
}

// A check-in with nothing waiting gets the cover bot's reply, deleted with
// the check-in after the same delay: it looks like any other check-in.
func TestCheckInWithNothingWaiting(t *testing.T) {
	for _, tt := range []struct {
		name, word string
		cfg        func(*Config)
	}{
		{"catalogue word", "fertilizer", nil},
		{"deep link", "/start fertilizer", nil},
		{"configured word", "mint_leaves", func(c *Config) { c.CheckinWord = "mint_leaves" }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := newReplyRig(t, harnessOpts{cfg: tt.cfg}, nil, "gw-a", 0)
			src := telegramtest.User{ID: 733100443, FirstName: "Src", Language: "en"}
			r.deliver(r.srv.Text(src, tt.word), "sendMessage", 1)
			if got := r.lastBotText(src.ID); got != defaultTexts[txtCoverReply] {
				t.Fatalf("answer %q, want the cover reply", got)
			}
			if n := len(protectedSends(r.srv)); n != 0 {
				t.Fatalf("%d protected sends with nothing waiting", n)
			}
			for _, m := range r.srv.Messages(src.ID) {
				waitFor(t, "message deleted", func() bool { return !deletedAt(r.srv, src.ID, m.ID).IsZero() })
			}
			if n := len(r.tips()); n != 0 {
				t.Fatalf("a check-in sealed %d tips", n)
			}
		})
	}
}

// A reply nobody collects expires: the outbox loop deletes it and records
// it expired, and a later check-in finds nothing.
func TestUncollectedReplyExpires(t *testing.T) {
	r := newReplyRig(t, harnessOpts{}, nil, "gw-a", 0)
	src := telegramtest.User{ID: 733100444, FirstName: "Src", Language: "en"}
	e := r.put(src.ID, "EXPIRING-REPLY", crypto.DeliverAtCheckIn, "case-1")
	r.clock.add(7*24*time.Hour + 2*time.Hour)
	waitFor(t, "expired state", func() bool { return r.state(e.ID) == string(gateway.Expired) })
	waitFor(t, "outbox entry deleted", func() bool { return r.outboxLen() == 0 })
	r.deliver(r.srv.Text(src, "fertilizer"), "sendMessage", 1)
	if n := len(protectedSends(r.srv)); n != 0 {
		t.Fatalf("an expired reply was sent (%d)", n)
	}
}

// A reply marked "send now" goes without a check-in, protected, and is
// deleted after the delay.
func TestSendNowReply(t *testing.T) {
	r := newReplyRig(t, harnessOpts{}, nil, "gw-a", 0)
	src := telegramtest.User{ID: 733100445, FirstName: "Src", Language: "en"}
	e := r.put(src.ID, "NOW-REPLY", crypto.DeliverNow, "case-2")
	waitFor(t, "reply sent", func() bool { return len(protectedSends(r.srv)) == 1 })
	waitFor(t, "delivered state", func() bool { return r.state(e.ID) == string(gateway.Delivered) })
	msgs := r.srv.Messages(src.ID)
	if len(msgs) != 1 || msgs[0].Text != "NOW-REPLY" {
		t.Fatalf("chat holds %+v, want the reply alone", msgs)
	}
	waitFor(t, "reply deleted", func() bool { return !deletedAt(r.srv, src.ID, msgs[0].ID).IsZero() })
}

// Two gateways on one store deliver each reply exactly once.
func TestTwoGatewaysDeliverOnce(t *testing.T) {
	srv := telegramtest.NewServer(t)
	q := openQueue(t, "file:"+t.TempDir()+"/flare.db")
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	a := newReplyRig(t, harnessOpts{srv: srv, q: q}, id, "gw-a", 0)
	b := newReplyRig(t, harnessOpts{srv: srv, q: q}, id, "gw-b", 0)
	_ = b
	var ids []string
	const n = 12
	for i := range n {
		ids = append(ids, a.put(int64(733200000+i), "ONCE-"+strconv.Itoa(i), crypto.DeliverNow, "case-x").ID)
	}
	waitFor(t, "all delivered", func() bool {
		for _, id := range ids {
			if a.state(id) != string(gateway.Delivered) {
				return false
			}
		}
		return true
	})
	time.Sleep(200 * time.Millisecond) // more scans by both
	seen := map[string]int{}
	for _, c := range protectedSends(srv) {
		seen[c.Params.Get("text")]++
	}
	for i := range n {
		if k := "ONCE-" + strconv.Itoa(i); seen[k] != 1 {
			t.Errorf("%s sent %d times", k, seen[k])
		}
	}
}

// A gateway that dies holding a claim (between claiming an entry and
// sending it) delays the reply until its lease runs out; then another
// gateway sends it, once.
func TestClaimOfDeadGatewayExpires(t *testing.T) {
	srv := telegramtest.NewServer(t)
	q := openQueue(t, "file:"+t.TempDir()+"/flare.db")
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	dead, err := gateway.NewOutbox(gateway.OutboxConfig{Queue: q, Identity: id, Name: "gw-dead", Lease: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	// Put the entry in before the live gateway starts, through a rig
	// that does not run.
	seed := newReplyRig(t, harnessOpts{srv: srv, q: q, noRun: true}, id, "seed", 0)
	e := seed.put(733300001, "LEASED-REPLY", crypto.DeliverNow, "case-y")
	pend, err := dead.Scan(context.Background())
	if err != nil || len(pend) != 1 {
		t.Fatalf("scan: %v, %d entries", err, len(pend))
	}
	claimed := make(chan struct{})
	never := make(chan struct{})
	deadDone := make(chan error, 1)
	go func() {
		deadDone <- dead.Deliver(context.Background(), pend[0], func(context.Context, crypto.OutboxEntry) error {
			close(claimed)
			<-never // the process is gone: nothing is sent, nothing released
			return errors.New("killed")
		})
	}()
	<-claimed

	live := newReplyRig(t, harnessOpts{srv: srv, q: q}, id, "gw-live", 0)
	time.Sleep(100 * time.Millisecond)
	if n := len(protectedSends(srv)); n != 0 {
		t.Fatalf("sent %d while the dead gateway's lease holds", n)
	}
	waitFor(t, "delivered after the lease", func() bool { return live.state(e.ID) == string(gateway.Delivered) })
	close(never)
	<-deadDone
	time.Sleep(100 * time.Millisecond)
	if n := len(protectedSends(srv)); n != 1 {
		t.Fatalf("reply sent %d times, want once", n)
	}
}

// The check-in word must differ from the code word, and fit a deep link.
func TestCheckInConfig(t *testing.T) {
	for _, tt := range []struct {
		name string
		set  func(*Config)
		ok   bool
	}{
		{"defaults", func(*Config) {}, true},
		{"same as code word", func(c *Config) { c.CodeWord = "basil"; c.CheckinWord = "Basil" }, false},
		{"space", func(c *Config) { c.CheckinWord = "two words" }, false},
		{"no ttl", func(c *Config) { c.ReplyTTL = 0 }, false},
		{"ttl past telegram's window", func(c *Config) { c.ReplyTTL = 48 * time.Hour }, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c := DefaultConfig()
			c.Token = telegramtest.Token
			tt.set(&c)
			if err := c.Validate(); (err == nil) != tt.ok {
				t.Fatalf("Validate = %v, want ok %v", err, tt.ok)
			}
		})
	}
}

// Under the disguise, in webhook mode, the check-in word works without the
// code word (the cover bot answers everything else), and a photo answered
// after it goes through the guided report into the same case.
func TestCheckInUnderDisguiseWebhook(t *testing.T) {
	r := newReplyRig(t, harnessOpts{cfg: func(c *Config) {
		c.Mode = ModeWebhook
		c.WebhookSecret = testSecret
		c.CodeWord = "basil"
	}}, nil, "gw-a", 0)
	src := telegramtest.User{ID: 733100446, FirstName: "Src", Language: "en"}
	r.put(src.ID, "DISGUISED-REPLY", crypto.DeliverAtCheckIn, "case-d")

	r.deliver(r.srv.Text(src, "hello"), "sendMessage", 1)
	if got := r.lastBotText(src.ID); got != defaultTexts[txtCoverReply] || len(protectedSends(r.srv)) != 0 {
		t.Fatalf("a message that is not the check-in got %q", got)
	}
	r.deliver(r.srv.Text(src, "/start fertilizer"), "sendMessage", 1)
	if s := protectedSends(r.srv); len(s) != 1 || s[0].Params.Get("text") != "DISGUISED-REPLY" {
		t.Fatalf("protected sends %+v", s)
	}
	// A photo is not a one-line answer: the guided report takes it, and
	// its tip still joins the case.
	r.deliver(r.srv.Photo(src, randomBytes(2000), "the building"), "sendMessage", 1)
	r.deliver(r.srv.Text(src, "/send"), "sendMessage", 1)
	tips := r.tips()
	if len(tips) != 1 || tips[0].Fields[FieldCase] != "case-d" || len(tips[0].Attachments) != 1 {
		t.Fatalf("tips %+v, want the photo in case-d", tips)
	}
}

// The reply's deletion is a timer in memory: a gateway that stops cleanly
// deletes the reply and the check-in at once rather than leaving them.
func TestReplyDeletedOnShutdown(t *testing.T) {
	r := newReplyRig(t, harnessOpts{cfg: func(c *Config) { c.ReplyTTL = time.Hour }}, nil, "gw-a", 0)
	src := telegramtest.User{ID: 733100447, FirstName: "Src", Language: "en"}
	r.put(src.ID, "SHUTDOWN-REPLY", crypto.DeliverAtCheckIn, "case-s")
	r.deliver(r.srv.Text(src, "fertilizer"), "sendMessage", 1)
	if n := len(r.srv.Calls("deleteMessage")); n != 0 {
		t.Fatalf("%d deletions before the hour", n)
	}
	r.stop()
	for _, m := range r.srv.Messages(src.ID) {
		if !m.Deleted {
			t.Errorf("message %d (%q) left in the chat after a clean stop", m.ID, m.Text)
		}
	}
}
