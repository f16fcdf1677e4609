package onion

import (
	"net/http"
	"strings"
	"testing"

	"github.com/flarehq/flare/ops/config"
)

func TestSettingsNamed(t *testing.T) {
	c := DefaultConfig()
	want := map[string][2]string{ // key: env, flag
		"onion.enabled":          {"FLARE_ONION", "onion"},
		"onion.tor_path":         {"FLARE_ONION_TOR_PATH", "tor-path"},
		"onion.torrc":            {"FLARE_ONION_TORRC", "torrc"},
		"onion.control_addr":     {"FLARE_ONION_CONTROL_ADDR", "onion-control-addr"},
		"onion.control_password": {"FLARE_ONION_CONTROL_PASSWORD", ""},
		"onion.control_cookie":   {"FLARE_ONION_CONTROL_COOKIE", "onion-control-cookie"},
		"onion.import_key":       {"FLARE_ONION_IMPORT_KEY", "onion-import-key"},
	}
	got := map[string]config.Setting{}
	for _, s := range c.Settings() {
		got[s.Key] = s
	}
	for key, ef := range want {
		s, ok := got[key]
		if !ok {
			t.Errorf("no setting %s", key)
			continue
		}
		if s.Env != ef[0] || s.Flag != ef[1] {
			t.Errorf("%s: env %q flag %q, want %q %q", key, s.Env, s.Flag, ef[0], ef[1])
		}
	}
	if s := got["onion.control_password"]; !s.Secret {
		t.Error("onion.control_password is not marked secret")
	}
}

func TestSettingsLoad(t *testing.T) {
	c := DefaultConfig()
	_, err := config.Load("gateway", c.Settings(),
		[]string{"--onion", "--tor-path", "/opt/tor", "--torrc", "/etc/flare/torrc", "--onion-pow=false"},
		[]string{"FLARE_ONION_CONTROL_PASSWORD=s3cret", "FLARE_ONION_MAX_STREAMS=8"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !c.Enable || c.TorPath != "/opt/tor" || c.Torrc != "/etc/flare/torrc" || c.PoW || c.ControlPassword != "s3cret" || c.MaxStreams != 8 {
		t.Fatalf("loaded %+v", c)
	}
	if !DefaultConfig().PoW {
		t.Fatal("PoW defence is not on by default")
	}
	if DefaultConfig().Enabled() {
		t.Fatal("channel enabled by default")
	}
}

func TestConfigValidate(t *testing.T) {
	h := http.NotFoundHandler()
	tests := []struct {
		name string
		cfg  Config
		want string // "" for valid
	}{
		{"own tor", Config{Enable: true, DataDir: "d", Handler: h}, ""},
		{"attach tcp", Config{ControlAddr: "127.0.0.1:9051", DataDir: "d", Handler: h}, ""},
		{"attach localhost", Config{ControlAddr: "localhost:9051", DataDir: "d", Handler: h}, ""},
		{"attach ipv6", Config{ControlAddr: "[::1]:9051", DataDir: "d", Handler: h}, ""},
		{"attach unix", Config{ControlAddr: "unix:/run/tor/control", DataDir: "d", Handler: h}, ""},
		{"no data dir", Config{Enable: true, Handler: h}, "no data directory"},
		{"no handler", Config{Enable: true, DataDir: "d"}, "no web intake handler"},
		{"remote control port", Config{ControlAddr: "192.0.2.1:9051", DataDir: "d", Handler: h}, "must run on this machine"},
		{"control port without port", Config{ControlAddr: "127.0.0.1", DataDir: "d", Handler: h}, "want host:port"},
		{"empty unix path", Config{ControlAddr: "unix:", DataDir: "d", Handler: h}, "empty unix socket path"},
		{"torrc with attach", Config{ControlAddr: "127.0.0.1:9051", Torrc: "x", DataDir: "d", Handler: h}, "gateway's own tor"},
		{"password without attach", Config{Enable: true, ControlPassword: "x", DataDir: "d", Handler: h}, "need onion.control_addr"},
		{"negative streams", Config{Enable: true, MaxStreams: -1, DataDir: "d", Handler: h}, "onion.max_streams"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.cfg.validate()
			if tt.want == "" {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want it to mention %q", err, tt.want)
			}
		})
	}
}

func TestOnionOptions(t *testing.T) {
	c := &Channel{cfg: Config{PoW: true, PoWQueueRate: 50, PoWQueueBurst: 500, MaxStreams: 16}}
	got := strings.Join(c.onionOptions(4242), " ")
	want := "Flags=DiscardPK,MaxStreamsCloseCircuit MaxStreams=16 PoWDefensesEnabled=1 PoWQueueRate=50 PoWQueueBurst=500 Port=80,127.0.0.1:4242"
	if got != want {
		t.Fatalf("ADD_ONION options\n got %s\nwant %s", got, want)
	}
	c.cfg = Config{}
	if got := strings.Join(c.onionOptions(1), " "); got != "Flags=DiscardPK Port=80,127.0.0.1:1" {
		t.Fatalf("options without defences: %s", got)
	}
}
