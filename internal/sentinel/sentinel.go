// Package sentinel helps tests prove Flare's first invariant: nothing a
// source wrote, and nothing that identifies a source, is stored or logged
// outside age ciphertext.
//
// A test plants distinctive strings (a sentinel text, a phone number, a
// chat id) in what it submits, then scans every place the gateway could
// have written to — files under a directory, every key of a Redis server,
// captured log output — for them, in the encodings a careless write would
// use (raw, hex, base64, URL and JSON escaping).
package sentinel

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// Finding is one place a needle was found.
type Finding struct {
	Needle string
	Where  string
	Form   string // the encoding it was found in
}

func (f Finding) String() string {
	return fmt.Sprintf("%q found in %s (%s)", f.Needle, f.Where, f.Form)
}

// forms returns the encodings of needle to look for.
func forms(needle string) map[string][]byte {
	js, _ := json.Marshal(needle)
	out := map[string][]byte{
		"raw":        []byte(needle),
		"lower":      []byte(strings.ToLower(needle)),
		"hex":        []byte(hex.EncodeToString([]byte(needle))),
		"base64":     []byte(strings.TrimRight(base64.StdEncoding.EncodeToString([]byte(needle)), "=")),
		"base64url":  []byte(strings.TrimRight(base64.URLEncoding.EncodeToString([]byte(needle)), "=")),
		"url":        []byte(url.QueryEscape(needle)),
		"json":       bytes.Trim(js, `"`),
		"utf16le":    utf16le(needle),
		"url-path":   []byte(url.PathEscape(needle)),
		"upper":      []byte(strings.ToUpper(needle)),
		"spaced-hex": []byte(strings.ToUpper(hex.EncodeToString([]byte(needle)))),
	}
	return out
}

func utf16le(s string) []byte {
	var b []byte
	for _, r := range s {
		if r > 0xffff {
			continue
		}
		b = append(b, byte(r), byte(r>>8))
	}
	return b
}

// Bytes scans data, naming it where.
func Bytes(data []byte, where string, needles ...string) []Finding {
	var out []Finding
	for _, n := range needles {
		if len(n) < 4 {
			continue // too short to mean anything
		}
		for form, enc := range forms(n) {
			if len(enc) >= 4 && bytes.Contains(data, enc) {
				out = append(out, Finding{Needle: n, Where: where, Form: form})
				break
			}
		}
	}
	return out
}

// Dir scans every regular file under dir.
func Dir(dir string, needles ...string) ([]Finding, error) {
	var out []Finding
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.Type().IsRegular() {
			return nil
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		out = append(out, Bytes(data, path, needles...)...)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("scan %s: %w", dir, err)
	}
	return out, nil
}

// Redis scans the name and value of every key of the Redis server at addr.
func Redis(ctx context.Context, addr string, needles ...string) ([]Finding, error) {
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	c := redis.NewClient(&redis.Options{Addr: addr})
	defer c.Close()
	var out []Finding
	iter := c.Scan(ctx, 0, "*", 500).Iterator()
	keys := 0
	for iter.Next(ctx) {
		key := iter.Val()
		keys++
		out = append(out, Bytes([]byte(key), "redis key name "+key, needles...)...)
		val, err := dumpKey(ctx, c, key)
		if err != nil {
			return nil, err
		}
		out = append(out, Bytes(val, "redis key "+key, needles...)...)
	}
	if err := iter.Err(); err != nil {
		return nil, fmt.Errorf("scan redis: %w", err)
	}
	return out, nil
}

func dumpKey(ctx context.Context, c *redis.Client, key string) ([]byte, error) {
	typ, err := c.Type(ctx, key).Result()
	if err != nil {
		return nil, fmt.Errorf("type %s: %w", key, err)
	}
	var buf bytes.Buffer
	add := func(s ...string) {
		for _, x := range s {
			buf.WriteString(x)
			buf.WriteByte(0)
		}
	}
	switch typ {
	case "string":
		v, err := c.Get(ctx, key).Result()
		if err != nil {
			return nil, err
		}
		add(v)
	case "list":
		v, err := c.LRange(ctx, key, 0, -1).Result()
		if err != nil {
			return nil, err
		}
		add(v...)
	case "set":
		v, err := c.SMembers(ctx, key).Result()
		if err != nil {
			return nil, err
		}
		add(v...)
	case "zset":
		v, err := c.ZRange(ctx, key, 0, -1).Result()
		if err != nil {
			return nil, err
		}
		add(v...)
	case "hash":
		v, err := c.HGetAll(ctx, key).Result()
		if err != nil {
			return nil, err
		}
		for k, x := range v {
			add(k, x)
		}
	case "stream":
		msgs, err := c.XRange(ctx, key, "-", "+").Result()
		if err != nil {
			return nil, err
		}
		for _, m := range msgs {
			add(m.ID)
			for k, x := range m.Values {
				add(k, fmt.Sprint(x))
			}
		}
		groups, err := c.XInfoGroups(ctx, key).Result()
		if err == nil {
			for _, g := range groups {
				add(g.Name)
				consumers, _ := c.XInfoConsumers(ctx, key, g.Name).Result()
				for _, cn := range consumers {
					add(cn.Name)
				}
			}
		}
	default:
		return nil, fmt.Errorf("key %s: unexpected type %s", key, typ)
	}
	return buf.Bytes(), nil
}
