// Package redisacl tests the Redis ACL users of ops/redis.conf against a
// real redis-server over TLS, with Flare's own gateway and console code.
package redisacl

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/flarehq/flare/console"
	"github.com/flarehq/flare/console/triage"
	"github.com/flarehq/flare/crypto"
	"github.com/flarehq/flare/internal/testkit"
	"github.com/flarehq/flare/internal/testredis"
	"github.com/flarehq/flare/queue"
	flareredis "github.com/flarehq/flare/queue/redis"
)

// aclUsers reads the "user NAME RULES…" lines of ops/redis.conf, each as
// the arguments of ACL SETUSER, with every CHANGE-THIS password replaced
// by a random one; it returns the users' arguments and passwords.
func aclUsers(t *testing.T) (map[string][]string, map[string]string) {
	t.Helper()
	f, err := os.Open("../redis.conf")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	users, passwords := map[string][]string{}, map[string]string{}
	pw := regexp.MustCompile(`^>CHANGE-THIS-\S+$`)
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, "user ") {
			continue
		}
		args := splitRules(strings.TrimPrefix(line, "user "))
		name := args[0]
		for i, a := range args {
			if pw.MatchString(a) {
				b := make([]byte, 16)
				rand.Read(b)
				passwords[name] = hex.EncodeToString(b)
				args[i] = ">" + passwords[name]
			}
		}
		users[name] = args
	}
	return users, passwords
}

// splitRules splits ACL rules on spaces, keeping a (selector) whole.
func splitRules(s string) []string {
	var out []string
	var cur strings.Builder
	depth := 0
	for _, r := range s {
		switch {
		case r == '(':
			depth++
		case r == ')':
			depth--
		case r == ' ' && depth == 0:
			if cur.Len() > 0 {
				out = append(out, cur.String())
				cur.Reset()
			}
			continue
		}
		cur.WriteRune(r)
	}
	if cur.Len() > 0 {
		out = append(out, cur.String())
	}
	return out
}

// TestRedisACLRoles: with ops/redis.conf's users on a TLS redis-server,
// the gateway user queues a sealed tip; the console user reads it, opens
// it, writes triage and history, but gets NOPERM for XDEL, DEL, FLUSHALL
// and for adding or overwriting anything but triage; the gateway cannot
// delete the stream either, and the default user is off.
func TestRedisACLRoles(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	rs := testredis.StartTLS(t)
	admin := goredis.NewClient(&goredis.Options{Addr: rs.Addr(), TLSConfig: rs.TLSConfig()})
	defer admin.Close()
	users, passwords := aclUsers(t)
	for _, name := range []string{"flare-gateway", "flare-console"} {
		if users[name] == nil || passwords[name] == "" {
			t.Fatalf("ops/redis.conf has no user %s with a CHANGE-THIS password", name)
		}
		args := []any{"ACL", "SETUSER"}
		for _, a := range users[name] {
			args = append(args, a)
		}
		if err := admin.Do(ctx, args...).Err(); err != nil {
			t.Fatalf("ACL SETUSER %s: %v", name, err)
		}
	}
	urlFor := func(user string) string {
		u, _ := url.Parse(rs.URL())
		u.User = url.UserPassword(user, passwords[user])
		return u.String()
	}

	// The gateway seals and queues a tip.
	kh := testkit.NewKeyHolder(t)
	sealer, err := crypto.NewSealer(kh.Recipient)
	if err != nil {
		t.Fatal(err)
	}
	gw, err := flareredis.OpenURL(ctx, urlFor("flare-gateway"))
	if err != nil {
		t.Fatalf("gateway user cannot open the queue: %v", err)
	}
	defer gw.Close()
	sealed, err := sealer.SealTip(&crypto.Tip{ID: "t-acl-1", Channel: "web", Kind: crypto.KindOther, Text: "acl tip"})
	if err != nil {
		t.Fatal(err)
	}
	id, err := gw.Enqueue(ctx, queue.StreamTips, sealed)
	if err != nil {
		t.Fatalf("gateway user cannot queue a tip: %v", err)
	}

	// What else a gateway does: attachment chunks, deduplication, and
	// working a stream (the outbox) with a consumer group.
	if err := gw.PutChunk(ctx, "blob1", 0, []byte("sealed chunk")); err != nil {
		t.Errorf("gateway user cannot store a chunk: %v", err)
	}
	if first, err := gw.Remember(ctx, "dedupe-hash", time.Hour); err != nil || !first {
		t.Errorf("gateway user cannot remember: %v", err)
	}
	if _, err := gw.Enqueue(ctx, "outbox-acl", []byte("sealed reply")); err != nil {
		t.Fatal(err)
	}
	msgs, err := gw.Read(ctx, "outbox-acl", queue.ReadOptions{Group: "gateways", Consumer: "g1"})
	if err != nil || len(msgs) != 1 {
		t.Fatalf("gateway user cannot read a stream in a group: %v", err)
	}
	if err := gw.Ack(ctx, "outbox-acl", "gateways", msgs[0].ID); err != nil {
		t.Errorf("gateway user cannot ack: %v", err)
	}
	if err := gw.DeleteBlob(ctx, "blob1"); err != nil {
		t.Errorf("gateway user cannot delete a delivered blob: %v", err)
	}

	// The console reads and opens it, and triages it.
	cq, err := flareredis.OpenURL(ctx, urlFor("flare-console"))
	if err != nil {
		t.Fatalf("console user cannot open the queue: %v", err)
	}
	defer cq.Close()
	c := console.New(cq, kh.Identities...)
	entries, err := c.List(ctx)
	if err != nil || len(entries) != 1 || entries[0].Tip == nil || entries[0].Tip.Text != "acl tip" {
		t.Fatalf("console user cannot read the tip: %v %+v", err, entries)
	}
	st, err := triage.New(triage.Config{Records: cq, Sealer: sealer, Identities: kh.Identities, Who: "alice"})
	if err != nil {
		t.Fatal(err)
	}
	status := triage.StatusInProgress
	if _, err := st.Apply(ctx, id, 0, triage.Change{Status: &status, Note: "called the family"}); err != nil {
		t.Fatalf("console user cannot write triage: %v", err)
	}
	if rec, err := st.Get(ctx, id); err != nil || rec.Status != status {
		t.Fatalf("triage not written: %+v %v", rec, err)
	}
	if h, err := st.History(ctx, id); err != nil || len(h) == 0 {
		t.Fatalf("history not written: %v %v", h, err)
	}

	streamKey := flareredis.DefaultPrefix + "stream:" + queue.StreamTips
	con := cq.Client()
	for _, cmd := range [][]any{
		{"XDEL", streamKey, id},
		{"DEL", streamKey},
		{"FLUSHALL"},
		{"FLUSHDB"},
		{"UNLINK", streamKey},
		{"XTRIM", streamKey, "MAXLEN", "0"},
		{"XADD", streamKey, "*", "body", "forged"},
		{"SET", streamKey, "x"},
		{"HSET", flareredis.DefaultPrefix + "blob:{x}", "a", "b"},
		{"CONFIG", "SET", "appendfsync", "no"},
		{"KEYS", "*"},
	} {
		err := con.Do(ctx, cmd...).Err()
		if err == nil || !strings.HasPrefix(err.Error(), "NOPERM") {
			t.Errorf("console user: %v: got %v, want NOPERM", cmd, err)
		}
	}
	for _, cmd := range [][]any{{"XDEL", streamKey, id}, {"DEL", streamKey}, {"FLUSHALL"}, {"XTRIM", streamKey, "MAXLEN", "0"}, {"UNLINK", streamKey}} {
		err := gw.Client().Do(ctx, cmd...).Err()
		if err == nil || !strings.HasPrefix(err.Error(), "NOPERM") {
			t.Errorf("gateway user: %v: got %v, want NOPERM", cmd, err)
		}
	}
	// The tip is still there, whole.
	if n, err := admin.XLen(ctx, streamKey).Result(); err != nil || n != 1 {
		t.Errorf("stream length %d, %v", n, err)
	}
}
