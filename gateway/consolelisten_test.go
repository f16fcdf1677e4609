package gateway

import "testing"

// TestConsoleListenLoopbackOnly: the store is served to consoles only on
// loopback, for tor to publish; never on a public address.
func TestConsoleListenLoopbackOnly(t *testing.T) {
	for addr, ok := range map[string]bool{
		"127.0.0.1:8081": true, "[::1]:8081": true, "localhost:8081": true,
		"0.0.0.0:8081": false, "203.0.113.5:8081": false, ":8081": false, "127.0.0.1": false,
	} {
		c := DefaultConfig()
		c.ConsoleListen = addr
		if err := c.Validate(); (err == nil) != ok {
			t.Errorf("%s: %v", addr, err)
		}
	}
}
