package embedded

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/flarehq/flare/queue"
)

// These tests run a second process on the same file, as a gateway and a
// `flare console` do: the test binary starts itself again with
// childEnv set, and TestMain runs the child's part instead of the tests.
const childEnv = "FLARE_EMBEDDED_TEST_CHILD"

func TestMain(m *testing.M) {
	if mode := os.Getenv(childEnv); mode != "" {
		if err := runChild(mode, os.Getenv(childEnv+"_PATH")); err != nil {
			fmt.Fprintln(os.Stderr, "child:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// runChild is the second process. It writes one line per acknowledged
// operation to stdout, each in a single write so that a line is whole.
func runChild(mode, path string) error {
	ctx := context.Background()
	s, err := Open(ctx, path, Options{})
	if err != nil {
		return err
	}
	defer s.Close()
	say := func(format string, args ...any) { os.Stdout.WriteString(fmt.Sprintf(format, args...) + "\n") }
	switch mode {
	case "share":
		for i := range 50 {
			id, err := s.Enqueue(ctx, queue.StreamTips, fmt.Appendf(nil, "child-%d", i))
			if err != nil {
				return err
			}
			say("enq %s", id)
		}
		for range 2 {
			msgs, err := s.Read(ctx, queue.StreamTips, queue.ReadOptions{Group: "shared", Consumer: "child", Count: 10})
			if err != nil {
				return err
			}
			for _, m := range msgs {
				if err := s.Ack(ctx, queue.StreamTips, "shared", m.ID); err != nil {
					return err
				}
				say("read %s", m.ID)
			}
		}
		id, err := s.Enqueue(ctx, queue.StreamOutbox, []byte("from child"))
		if err != nil {
			return err
		}
		say("outbox %s", id)
	case "crash":
		var wg sync.WaitGroup
		for w := range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; ; i++ {
					b := fmt.Sprintf("w%d-%d", w, i)
					id, err := s.Enqueue(ctx, queue.StreamTips, []byte(b))
					if err != nil {
						return
					}
					say("%s %s", id, b)
				}
			}()
		}
		wg.Wait()
	case "hold":
		// Read three messages, never acknowledge them, and wait to be
		// killed.
		msgs, err := s.Read(ctx, queue.StreamTips, queue.ReadOptions{Group: "g", Consumer: "doomed", Count: 3})
		if err != nil {
			return err
		}
		for _, m := range msgs {
			say("%s", m.ID)
		}
		say("holding")
		time.Sleep(time.Hour)
		return nil
	default:
		return fmt.Errorf("unknown mode %q", mode)
	}
	return nil
}

func startChild(t *testing.T, mode, path string) (*exec.Cmd, *bufio.Scanner) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"="+mode, childEnv+"_PATH="+path)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			cmd.Wait()
		}
	})
	return cmd, bufio.NewScanner(out)
}

func TestTwoProcessesShareTheFile(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	path := filepath.Join(t.TempDir(), "queue.db")
	s := openAt(t, path)

	watch := make(chan []queue.Message, 1)
	go func() {
		msgs, err := s.Read(ctx, queue.StreamOutbox, queue.ReadOptions{Group: "watch", Consumer: "parent", Block: 50 * time.Second})
		if err != nil {
			t.Error(err)
		}
		watch <- msgs
	}()

	cmd, lines := startChild(t, "share", path)
	parentIDs := make(chan []string, 1)
	go func() {
		var ids []string
		for i := range 50 {
			id, err := s.Enqueue(ctx, queue.StreamTips, fmt.Appendf(nil, "parent-%d", i))
			if err != nil {
				t.Error(err)
				break
			}
			ids = append(ids, id)
		}
		parentIDs <- ids
	}()

	childRead := map[string]bool{}
	var enqueued []string
	var outbox string
	for lines.Scan() {
		kind, id, _ := strings.Cut(lines.Text(), " ")
		switch kind {
		case "enq":
			enqueued = append(enqueued, id)
		case "read":
			childRead[id] = true
		case "outbox":
			outbox = id
		}
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("child process: %v", err)
	}
	enqueued = append(enqueued, <-parentIDs...)

	got := <-watch
	if len(got) != 1 || got[0].ID != outbox || string(got[0].Body) != "from child" {
		t.Fatalf("blocked Read in the parent got %v, want the child's outbox message %s", got, outbox)
	}

	all, err := s.List(ctx, queue.StreamTips, "", 1000)
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 100 || len(enqueued) != 100 {
		t.Fatalf("listed %d messages, acknowledged %d, want 100", len(all), len(enqueued))
	}
	listed := map[string]bool{}
	for i, m := range all {
		listed[m.ID] = true
		if i > 0 && queue.CompareIDs(all[i-1].ID, m.ID) >= 0 {
			t.Fatalf("ids from two processes out of order: %s then %s", all[i-1].ID, m.ID)
		}
	}
	for _, id := range enqueued {
		if !listed[id] {
			t.Fatalf("acknowledged id %s not in the stream", id)
		}
	}

	// The rest of group "shared" goes to the parent, none of it twice.
	rest, err := s.Read(ctx, queue.StreamTips, queue.ReadOptions{Group: "shared", Consumer: "parent", Count: 1000})
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range rest {
		if childRead[m.ID] {
			t.Fatalf("message %s delivered to both processes", m.ID)
		}
	}
	if len(childRead) != 20 || len(rest)+len(childRead) != 100 {
		t.Fatalf("child read %d, parent %d, want 20 and 80", len(childRead), len(rest))
	}
}

func TestKill9DuringEnqueue(t *testing.T) {
	path := filepath.Join(t.TempDir(), "queue.db")
	cmd, lines := startChild(t, "crash", path)
	acked := map[string]string{}
	for lines.Scan() {
		id, b, ok := strings.Cut(lines.Text(), " ")
		if !ok {
			t.Fatalf("bad line from child: %q", lines.Text())
		}
		acked[id] = b
		if len(acked) == 500 {
			if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
		}
	}
	cmd.Wait()
	if len(acked) < 500 {
		t.Fatalf("child acknowledged only %d enqueues before it stopped", len(acked))
	}

	s := openAt(t, path)
	all, err := s.List(context.Background(), queue.StreamTips, "", 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	stored := map[string]string{}
	for _, m := range all {
		stored[m.ID] = string(m.Body)
	}
	for id, b := range acked {
		if stored[id] != b {
			t.Fatalf("acknowledged message %s lost after SIGKILL: stored %q, want %q", id, stored[id], b)
		}
	}
	t.Logf("%d enqueues acknowledged before SIGKILL, %d stored after", len(acked), len(stored))
}

// TestConsumerProcessDies kills a consumer process that read messages
// without acknowledging them: another process gets them once idle.
func TestConsumerProcessDies(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "queue.db")
	s := openAt(t, path)
	var want []string
	for i := range 5 {
		id, err := s.Enqueue(ctx, queue.StreamTips, fmt.Appendf(nil, "tip %d", i))
		if err != nil {
			t.Fatal(err)
		}
		want = append(want, id)
	}
	cmd, lines := startChild(t, "hold", path)
	var held []string
	for lines.Scan() && lines.Text() != "holding" {
		held = append(held, lines.Text())
	}
	if fmt.Sprint(held) != fmt.Sprint(want[:3]) {
		t.Fatalf("child held %v, want %v", held, want[:3])
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()

	opts := queue.ReadOptions{Group: "g", Consumer: "survivor", Count: 10, Visibility: time.Hour}
	got, err := s.Read(ctx, queue.StreamTips, opts)
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(ids(got)) != fmt.Sprint(want[3:]) {
		t.Fatalf("before the visibility timeout got %v, want only the unread %v", ids(got), want[3:])
	}
	time.Sleep(150 * time.Millisecond)
	opts.Visibility = 100 * time.Millisecond
	got, err = s.Read(ctx, queue.StreamTips, opts)
	if err != nil {
		t.Fatal(err)
	}
	// The survivor's own unacknowledged messages expired too; the dead
	// process's come first, in stream order.
	if fmt.Sprint(ids(got)) != fmt.Sprint(want) {
		t.Fatalf("after the visibility timeout got %v, want %v", ids(got), want)
	}
	for i, m := range got[:3] {
		if m.Deliveries != 2 || string(m.Body) != fmt.Sprintf("tip %d", i) {
			t.Fatalf("redelivered %s: deliveries %d body %q", m.ID, m.Deliveries, m.Body)
		}
	}
}

func ids(msgs []queue.Message) []string {
	out := make([]string, len(msgs))
	for i, m := range msgs {
		out[i] = m.ID
	}
	return out
}
