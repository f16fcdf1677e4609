package main

import (
	"context"
	"strings"
	"testing"
	"time"
)

func TestGatewayRefusesBadAlertSettings(t *testing.T) {
	dir := t.TempDir()
	good := recipientString(t)
	tests := []struct {
		name string
		args []string
		env  []string
		want string
	}{
		{"telegram without chat", nil, []string{"FLARE_ALERT_TELEGRAM_TOKEN=1:alerts"}, "FLARE_ALERT_TELEGRAM_CHAT"},
		{"alert bot is the intake bot", nil, []string{"FLARE_ALERT_TELEGRAM_TOKEN=1:same", "FLARE_ALERT_TELEGRAM_CHAT=-100", "FLARE_TELEGRAM_TOKEN=1:same"}, "not the intake bot"},
		{"smtp without recipient", nil, []string{"FLARE_ALERT_SMTP_URL=smtp://u@127.0.0.1:587"}, "FLARE_ALERT_EMAIL_TO"},
		{"credential as a flag", []string{"--alert-webhook-secret", "x"}, nil, "flag provided but not defined"},
		{"admin on the intake address", []string{"--admin-listen", "127.0.0.1:0"}, nil, "must differ"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			var out, errb strings.Builder
			a := &app{stdout: &out, stderr: &errb, environ: tt.env}
			args := append([]string{"gateway", "--listen", "127.0.0.1:0", "--data-dir", dir, "--recipient", good}, tt.args...)
			if code := a.main(ctx, args); code == 0 {
				t.Fatal("gateway started")
			}
			if !strings.Contains(errb.String(), tt.want) {
				t.Fatalf("error %q does not mention %q", errb.String(), tt.want)
			}
		})
	}
}
