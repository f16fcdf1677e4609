package redis

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/flarehq/flare/queue"
)

// bodyField is the one field of every stream entry.
const bodyField = "b"

// Enqueue implements queue.Queue with XADD. It returns once Redis has
// answered, which with appendfsync always means the entry is on disk.
func (q *Queue) Enqueue(ctx context.Context, stream string, body []byte) (string, error) {
	if err := q.check(ctx); err != nil {
		return "", err
	}
	if stream == "" {
		return "", errors.New("redis queue: enqueue: empty stream name")
	}
	key := q.streamKey(stream)
	// Ids carry the hour only (see queue.TimePrecision): "<hour ms>-*"
	// lets Redis (7.0 or later) pick the sequence. A stream whose last id
	// is later (ids from before this rule, another gateway's clock just
	// past the hour) refuses that; its own ms part keeps the order.
	ms := strconv.FormatInt(queue.HourMillis(time.Now()), 10)
	for attempt := 0; ; attempt++ {
		id, err := q.c.XAdd(ctx, &goredis.XAddArgs{
			Stream: key,
			ID:     ms + "-*",
			Values: []any{bodyField, body},
		}).Result()
		if err == nil {
			return id, nil
		}
		if !isIDTooSmall(err) || attempt == 3 {
			if isInvalidID(err) {
				err = fmt.Errorf("%w (hour-coarse stream ids need Redis 7.0 or later)", err)
			}
			return "", q.wrap(err, "enqueue to %s", stream)
		}
		info, err := q.c.XInfoStream(ctx, key).Result()
		if err != nil {
			return "", q.wrap(err, "enqueue to %s: read the last id", stream)
		}
		last, _, _ := strings.Cut(info.LastGeneratedID, "-")
		if _, err := strconv.ParseUint(last, 10, 64); err != nil {
			return "", q.wrap(fmt.Errorf("malformed last id %q", info.LastGeneratedID), "enqueue to %s", stream)
		}
		ms = last
	}
}

// isIDTooSmall reports Redis's refusal of an XADD id below the stream's
// last one.
func isIDTooSmall(err error) bool {
	return err != nil && strings.Contains(err.Error(), "equal or smaller than the target stream top item")
}

func isInvalidID(err error) bool {
	return err != nil && strings.Contains(err.Error(), "Invalid stream ID")
}

// Read implements queue.Queue: XAUTOCLAIM for messages idle longer than
// the visibility timeout, then XREADGROUP for new ones. A blocked Read
// waits in slices of Options.PollInterval so that it also notices expired
// messages and cancellation.
func (q *Queue) Read(ctx context.Context, stream string, opts queue.ReadOptions) ([]queue.Message, error) {
	if err := q.check(ctx); err != nil {
		return nil, err
	}
	if stream == "" || opts.Group == "" || opts.Consumer == "" {
		return nil, errors.New("redis queue: read needs a stream, a group and a consumer")
	}
	if opts.Count <= 0 {
		opts.Count = 1
	}
	if opts.Visibility <= 0 {
		opts.Visibility = queue.DefaultVisibility
	}
	key := q.streamKey(stream)
	if err := q.ensureGroup(ctx, key, opts.Group); err != nil {
		return nil, q.wrap(err, "create group %s on %s", opts.Group, stream)
	}
	deadline := time.Now().Add(opts.Block)
	for {
		out, err := q.claim(ctx, key, opts)
		if err != nil {
			return nil, q.wrap(err, "claim expired messages on %s", stream)
		}
		if len(out) >= opts.Count {
			return out, nil
		}
		block := time.Duration(-1) // go-redis: no BLOCK argument
		if len(out) == 0 && opts.Block > 0 {
			left := time.Until(deadline)
			if left <= 0 {
				return nil, nil
			}
			block = max(min(left, q.poll), time.Millisecond)
		}
		fresh, err := q.readNew(ctx, key, opts, opts.Count-len(out), block)
		if errors.Is(err, errNoGroup) {
			q.groups.Delete(key + "\x00" + opts.Group)
			if err = q.ensureGroup(ctx, key, opts.Group); err == nil {
				continue
			}
		}
		if err != nil {
			if ctxErr := ctx.Err(); ctxErr != nil {
				return nil, ctxErr
			}
			return nil, q.wrap(err, "read %s as %s/%s", stream, opts.Group, opts.Consumer)
		}
		out = append(out, fresh...)
		if len(out) > 0 || opts.Block <= 0 {
			return out, nil
		}
		if err := q.check(ctx); err != nil {
			return nil, err
		}
	}
}

var errNoGroup = errors.New("consumer group missing")

func (q *Queue) ensureGroup(ctx context.Context, key, group string) error {
	k := key + "\x00" + group
	if _, ok := q.groups.Load(k); ok {
		return nil
	}
	err := q.c.XGroupCreateMkStream(ctx, key, group, "0").Err()
	if err != nil && !strings.HasPrefix(err.Error(), "BUSYGROUP") {
		return err
	}
	q.groups.Store(k, struct{}{})
	return nil
}

// claim takes over up to opts.Count messages that have been pending with
// any consumer for longer than the visibility timeout, oldest first.
func (q *Queue) claim(ctx context.Context, key string, opts queue.ReadOptions) ([]queue.Message, error) {
	var out []queue.Message
	start := "0-0"
	// XAUTOCLAIM looks at a bounded stretch of the pending list per call;
	// a few calls cover long lists without scanning them whole each Read.
	for range 4 {
		msgs, next, err := q.c.XAutoClaim(ctx, &goredis.XAutoClaimArgs{
			Stream:   key,
			Group:    opts.Group,
			Consumer: opts.Consumer,
			MinIdle:  opts.Visibility,
			Start:    start,
			Count:    int64(opts.Count - len(out)),
		}).Result()
		if err != nil {
			if isNoGroup(err) {
				return nil, nil
			}
			return nil, err
		}
		for _, m := range msgs {
			out = append(out, toMessage(m))
		}
		if next == "0-0" || len(out) >= opts.Count {
			break
		}
		start = next
	}
	if len(out) == 0 {
		return nil, nil
	}
	// XAUTOCLAIM counted the delivery; XPENDING tells the total.
	pipe := q.c.Pipeline()
	cmds := make([]*goredis.XPendingExtCmd, len(out))
	for i, m := range out {
		cmds[i] = pipe.XPendingExt(ctx, &goredis.XPendingExtArgs{
			Stream: key, Group: opts.Group, Start: m.ID, End: m.ID, Count: 1,
		})
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return nil, err
	}
	for i, cmd := range cmds {
		if p := cmd.Val(); len(p) == 1 {
			out[i].Deliveries = int(p[0].RetryCount)
		}
	}
	return out, nil
}

func (q *Queue) readNew(ctx context.Context, key string, opts queue.ReadOptions, count int, block time.Duration) ([]queue.Message, error) {
	res, err := q.c.XReadGroup(ctx, &goredis.XReadGroupArgs{
		Group:    opts.Group,
		Consumer: opts.Consumer,
		Streams:  []string{key, ">"},
		Count:    int64(count),
		Block:    block,
	}).Result()
	if errors.Is(err, goredis.Nil) {
		return nil, nil
	}
	if err != nil {
		if isNoGroup(err) {
			return nil, errNoGroup
		}
		return nil, err
	}
	var out []queue.Message
	for _, s := range res {
		for _, m := range s.Messages {
			msg := toMessage(m)
			msg.Deliveries = 1
			out = append(out, msg)
		}
	}
	return out, nil
}

func isNoGroup(err error) bool { return err != nil && strings.HasPrefix(err.Error(), "NOGROUP") }

// Ack implements queue.Queue with XACK.
func (q *Queue) Ack(ctx context.Context, stream, group string, ids ...string) error {
	if err := q.check(ctx); err != nil {
		return err
	}
	for _, id := range ids {
		if !validID(id) {
			return fmt.Errorf("redis queue: ack: message id %q: %w", id, queue.ErrInvalidID)
		}
	}
	if len(ids) == 0 {
		return nil
	}
	err := q.c.XAck(ctx, q.streamKey(stream), group, ids...).Err()
	if isNoGroup(err) {
		return nil
	}
	return q.wrap(err, "ack on %s", stream)
}

// Get implements queue.Queue with XRANGE id id.
func (q *Queue) Get(ctx context.Context, stream, id string) (queue.Message, error) {
	if err := q.check(ctx); err != nil {
		return queue.Message{}, err
	}
	if !validID(id) {
		return queue.Message{}, fmt.Errorf("redis queue: message id %q: %w (%w)", id, queue.ErrInvalidID, queue.ErrNotFound)
	}
	msgs, err := q.c.XRangeN(ctx, q.streamKey(stream), id, id, 1).Result()
	if err != nil {
		return queue.Message{}, q.wrap(err, "get from %s", stream)
	}
	if len(msgs) == 0 {
		return queue.Message{}, fmt.Errorf("redis queue: message %s in %s: %w", id, stream, queue.ErrNotFound)
	}
	return toMessage(msgs[0]), nil
}

// List implements queue.Queue with XRANGE (after + COUNT count.
func (q *Queue) List(ctx context.Context, stream, after string, count int) ([]queue.Message, error) {
	if err := q.check(ctx); err != nil {
		return nil, err
	}
	start := "-"
	if after != "" {
		if !validID(after) {
			return nil, fmt.Errorf("redis queue: list after %q: %w", after, queue.ErrInvalidID)
		}
		start = "(" + after
	}
	if count <= 0 {
		return nil, nil
	}
	msgs, err := q.c.XRangeN(ctx, q.streamKey(stream), start, "+", int64(count)).Result()
	if err != nil {
		return nil, q.wrap(err, "list %s", stream)
	}
	out := make([]queue.Message, len(msgs))
	for i, m := range msgs {
		out[i] = toMessage(m)
	}
	return out, nil
}

func toMessage(m goredis.XMessage) queue.Message {
	msg := queue.Message{ID: m.ID}
	if b, ok := m.Values[bodyField].(string); ok {
		msg.Body = []byte(b)
	}
	if msg.Body == nil {
		msg.Body = []byte{}
	}
	ms, _, _ := strings.Cut(m.ID, "-")
	if n, err := strconv.ParseInt(ms, 10, 64); err == nil {
		// Ids written before they were coarsened still hold the
		// millisecond; Enqueued never does.
		msg.Enqueued = time.UnixMilli(queue.HourMillis(time.UnixMilli(n))).UTC()
	}
	return msg
}

// validID accepts "<ms>-<seq>" and "<ms>", as Redis does.
func validID(id string) bool {
	a, b, found := strings.Cut(id, "-")
	if _, err := strconv.ParseUint(a, 10, 64); err != nil {
		return false
	}
	if found {
		if _, err := strconv.ParseUint(b, 10, 64); err != nil {
			return false
		}
	}
	return true
}
