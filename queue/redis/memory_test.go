package redis

import "testing"

func TestParseMemoryInfo(t *testing.T) {
	tests := []struct {
		name       string
		info       string
		used, max  int64
		wantErrors bool
	}{
		{"limited", "# Memory\r\nused_memory:1048576\r\nused_memory_human:1.00M\r\nmaxmemory:67108864\r\nmaxmemory_policy:noeviction\r\n", 1 << 20, 64 << 20, false},
		{"unlimited", "# Memory\r\nused_memory:5000\r\nmaxmemory:0\r\n", 5000, 0, false},
		{"missing maxmemory", "# Memory\r\nused_memory:5000\r\n", 0, 0, true},
		{"garbage", "used_memory:lots\r\nmaxmemory:0\r\n", 0, 0, true},
	}
	for _, tt := range tests {
		used, max, err := parseMemoryInfo(tt.info)
		if (err != nil) != tt.wantErrors || used != tt.used || max != tt.max {
			t.Errorf("%s: %d, %d, %v", tt.name, used, max, err)
		}
	}
}
