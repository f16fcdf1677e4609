package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"filippo.io/age"

	"github.com/flarehq/flare/internal/testkit"
)

// TestGatewayNeverEchoesSecrets runs the flare binary, as an operator
// would, with a secret put where it does not belong or next to a value
// that is wrong, and scans everything it printed for the secret. Each
// refusal must still say what is wrong.
func TestGatewayNeverEchoesSecrets(t *testing.T) {
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	secretKey := id.String() // AGE-SECRET-KEY-1…
	keyData := strings.TrimPrefix(secretKey, "AGE-SECRET-KEY-1")
	good := id.Recipient().String()
	const pw = "S3CRETqueuePW"
	const token = "7000001:S3CRETbotTOKEN_0123456789abcdef"

	dir := t.TempDir()
	identityFile := filepath.Join(dir, "key.txt")
	os.WriteFile(identityFile, []byte("# created: 2026-01-01T00:00:00Z\n# public key: "+good+"\n"+secretKey+"\n"), 0o600)

	cases := []struct {
		name    string
		args    []string
		env     []string
		secrets []string
		want    string // what the refusal must say
	}{
		{"queue URL with a bad escape", nil, []string{"FLARE_QUEUE=redis://:" + pw + "%zz@127.0.0.1:1/0"}, []string{pw}, "redis queue url"},
		{"queue URL with a bad port", nil, []string{"FLARE_QUEUE=redis://flare:" + pw + "@127.0.0.1:port/0"}, []string{pw}, "redis queue url"},
		{"queue URL with a control character", nil, []string{"FLARE_QUEUE=redis://:" + pw + "\x01@127.0.0.1:1/0"}, []string{pw}, "redis queue url"},
		{"queue URL unreachable", nil, []string{"FLARE_QUEUE=redis://:" + pw + "@127.0.0.1:1/0"}, []string{pw}, "127.0.0.1:1"},
		{"queue URL with an unknown option", nil, []string{"FLARE_QUEUE=redis://:" + pw + "@127.0.0.1:1/0?durability=" + pw}, []string{pw}, "durability"},
		{"file queue URL with a password", nil, []string{"FLARE_QUEUE=file://u:" + pw + "@elsewhere/q.db"}, []string{pw}, "must be local"},
		{"secret key as recipient", []string{"--recipient", secretKey}, nil, []string{keyData}, "age-keygen -y"},
		{"lower-case secret key in the environment", nil, []string{"FLARE_RECIPIENTS=" + good + "," + strings.ToLower(secretKey)}, []string{keyData, strings.ToLower(keyData)}, "secret key, not a recipient"},
		{"identity file as recipients file", []string{"--recipients-file", identityFile}, nil, []string{keyData}, "line 3: this is a secret key"},
		{"plugin identity as recipient", []string{"--recipient", "AGE-PLUGIN-YUBIKEY-1S3CRETPLUGINQQQQQQQQQ"}, nil, []string{"S3CRETPLUGIN"}, "secret key, not a recipient"},
		{"secret after a recipient on one line", []string{"--recipient", good + "AGE-SECRET-KEY-1" + keyData}, nil, []string{keyData}, "secret key, not a recipient"},
		{"recipient with odd characters", []string{"--recipient", "age1" + pw}, nil, []string{pw}, "characters a recipient cannot have"},
		{"bot token with a control character", nil, []string{"FLARE_TELEGRAM_TOKEN=" + token + "\x7f"}, []string{"S3CRETbotTOKEN"}, "bot token is not of the form"},
		{"Twilio public URL with a bad password", nil, []string{
			"FLARE_TWILIO_AUTH_TOKEN=S3CRETtwilio", "FLARE_TWILIO_ACCOUNT_SID=AC00000000000000000000000000000001",
			"FLARE_TWILIO_PUBLIC_URL=https://twilio:" + pw + "%zz@flare.example.org/webhooks/twilio",
		}, []string{pw, "S3CRETtwilio"}, "FLARE_TWILIO_PUBLIC_URL"},
		{"hash key not hex", nil, []string{"FLARE_HASH_KEY=S3CREThashKEY"}, []string{"S3CREThashKEY"}, "hash key"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			args := tc.args
			if !hasRecipient(args, tc.env) {
				args = append(args, "--recipient", good)
			}
			out, code := runGatewayBinary(t, t.TempDir(), args, tc.env, "")
			if code == 0 {
				t.Fatalf("gateway started; output:\n%s", out)
			}
			for _, s := range tc.secrets {
				if strings.Contains(out, s) {
					t.Errorf("output shows the secret %q:\n%s", s, out)
				}
			}
			if !strings.Contains(out, tc.want) {
				t.Errorf("output does not say %q:\n%s", tc.want, out)
			}
		})
	}

	// The console opens the same queue URLs and refuses them alike.
	t.Run("console with a malformed queue URL", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		out, err := exec.CommandContext(ctx, flareBin, "console", "list", "--identity", identityFile,
			"--queue", "redis://:"+pw+"%zz@127.0.0.1:1/0").CombinedOutput()
		if err == nil || !strings.Contains(string(out), "open queue") {
			t.Fatalf("err %v, output:\n%s", err, out)
		}
		if strings.Contains(string(out), pw) {
			t.Errorf("output shows the password:\n%s", out)
		}
	})

	// A gateway that starts with every secret set and a Bot API server
	// that refuses connections logs its failed calls, never the token
	// (net/http's errors quote the request URL, which holds it).
	t.Run("running gateway with unreachable Bot API", func(t *testing.T) {
		env := []string{
			"FLARE_TELEGRAM_TOKEN=" + token, "FLARE_TELEGRAM_API_URL=http://127.0.0.1:1",
			"FLARE_TWILIO_AUTH_TOKEN=S3CRETtwilioTOKEN", "FLARE_TWILIO_ACCOUNT_SID=AC00000000000000000000000000000001",
			"FLARE_TWILIO_PUBLIC_URL=https://twilio:S3CRETbasicPW@flare.example.org/webhooks/twilio",
			"FLARE_VONAGE_SIGNATURE_SECRET=S3CRETvonage", "FLARE_VONAGE_SIGNATURE_METHOD=sha256",
			"FLARE_SMS_WEBHOOK_SECRET=S3CRETwebhook0123456789",
			"FLARE_HASH_KEY=" + strings.Repeat("5e", 32),
		}
		out, _ := runGatewayBinary(t, t.TempDir(), []string{"--recipient", good, "--log-level", "debug"}, env, "telegram api call failed")
		if !strings.Contains(out, "telegram api call failed") {
			t.Fatalf("the gateway never tried the Bot API; output:\n%s", out)
		}
		for _, s := range []string{"S3CRETbotTOKEN", "S3CRETtwilioTOKEN", "S3CRETbasicPW", "S3CRETvonage", "S3CRETwebhook", strings.Repeat("5e", 32)} {
			if strings.Contains(out, s) {
				t.Errorf("output shows the secret %q:\n%s", s, out)
			}
		}
	})
}

func hasRecipient(args, env []string) bool {
	for _, a := range args {
		if strings.HasPrefix(a, "--recipient") {
			return true
		}
	}
	for _, e := range env {
		if strings.HasPrefix(e, "FLARE_RECIPIENTS=") {
			return true
		}
	}
	return false
}

// runGatewayBinary runs "flare gateway" on a loopback port with data
// directory dir, until it exits or, once its output holds until (if
// given), until it is stopped; it returns everything printed on stdout
// and stderr, and the exit code.
func runGatewayBinary(t *testing.T, dir string, args, env []string, until string) (string, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, flareBin, append([]string{"gateway", "--listen", "127.0.0.1:0", "--data-dir", dir}, args...)...)
	cmd.Env = append(os.Environ(), env...)
	var out testkit.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	if until != "" {
		for !bytes.Contains(out.Bytes(), []byte(until)) {
			select {
			case <-done:
				return out.String(), cmd.ProcessState.ExitCode()
			case <-ctx.Done():
				return out.String(), -1
			case <-time.After(50 * time.Millisecond):
			}
		}
		cmd.Process.Signal(syscall.SIGTERM)
	}
	select {
	case <-done:
	case <-ctx.Done():
		<-done
	}
	return out.String(), cmd.ProcessState.ExitCode()
}
