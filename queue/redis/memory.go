package redis

import (
	"bufio"
	"context"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// MemoryHeadroom returns how many bytes the server can still take before
// it reaches maxmemory (INFO memory: maxmemory − used_memory), so that a
// gateway can refuse attachments before a full server (noeviction) refuses
// every tip. A server with no maxmemory has no such limit: the headroom is
// math.MaxInt64, and only the machine's memory bounds it.
func (q *Queue) MemoryHeadroom(ctx context.Context) (int64, error) {
	info, err := q.c.Info(ctx, "memory").Result()
	if err != nil {
		return 0, fmt.Errorf("redis memory headroom: %w", err)
	}
	used, max, err := parseMemoryInfo(info)
	if err != nil {
		return 0, fmt.Errorf("redis memory headroom: %w", err)
	}
	if max == 0 {
		return math.MaxInt64, nil
	}
	return max - used, nil
}

// parseMemoryInfo reads used_memory and maxmemory from INFO memory.
func parseMemoryInfo(info string) (used, max int64, err error) {
	var haveUsed, haveMax bool
	sc := bufio.NewScanner(strings.NewReader(info))
	for sc.Scan() {
		k, v, ok := strings.Cut(strings.TrimSpace(sc.Text()), ":")
		if !ok {
			continue
		}
		switch k {
		case "used_memory":
			used, err = strconv.ParseInt(v, 10, 64)
			haveUsed = err == nil
		case "maxmemory":
			max, err = strconv.ParseInt(v, 10, 64)
			haveMax = err == nil
		}
		if err != nil {
			return 0, 0, fmt.Errorf("INFO memory: %s: %w", k, err)
		}
	}
	if !haveUsed || !haveMax {
		return 0, 0, fmt.Errorf("INFO memory lacks used_memory or maxmemory")
	}
	return used, max, nil
}
