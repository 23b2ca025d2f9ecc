package config

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// watchFile starts Watch on path and returns the channel its changes
// arrive on. Watch is stopped, and must return, when the test ends.
func watchFile(t *testing.T, path string) <-chan struct{} {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	changes := make(chan struct{}, 16)
	done := make(chan error, 1)
	go func() { done <- Watch(ctx, path, func() { changes <- struct{}{} }) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Watch returned %v", err)
			}
		case <-time.After(5 * time.Second):
			t.Error("Watch did not return after its context ended")
		}
	})
	// Give fsnotify time to start watching the directory.
	time.Sleep(50 * time.Millisecond)
	return changes
}

func write(t *testing.T, path, data string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}

// expectChanges waits for n changes, then checks that no more arrive for
// quiet.
func expectChanges(t *testing.T, changes <-chan struct{}, n int, quiet time.Duration) {
	t.Helper()
	for i := range n {
		select {
		case <-changes:
		case <-time.After(5 * time.Second):
			t.Fatalf("got %d changes, want %d", i, n)
		}
	}
	select {
	case <-changes:
		t.Fatalf("got more than %d changes", n)
	case <-time.After(quiet):
	}
}

func TestWatchCoalescesPartialWrites(t *testing.T) {
	path := filepath.Join(t.TempDir(), "config.yaml")
	write(t, path, "listen: 127.0.0.1:8080\n")
	changes := watchFile(t, path)

	// What an editor writing in place looks like: truncate, then the
	// content in pieces (0, 40, then 107 bytes).
	full := strings.Repeat("# padding line for a partial write test\n", 3)[:107]
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_TRUNC, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(10 * time.Millisecond)
	f.WriteString(full[:40])
	time.Sleep(10 * time.Millisecond)
	f.WriteString(full[40:])
	f.Close()

	expectChanges(t, changes, 1, 300*time.Millisecond)
}

// TestWatchWaitsForATwoPartWrite: a tool that writes the config in two
// parts 0.4 s apart gets one change, after the second part: the first
// part alone (a valid YAML file with half the routes) is never reported.
func TestWatchWaitsForATwoPartWrite(t *testing.T) {
	path := filepath.Join(t.TempDir(), "config.yaml")
	write(t, path, "listen: 127.0.0.1:8080\n")
	changes := watchFile(t, path)

	f, err := os.OpenFile(path, os.O_WRONLY|os.O_TRUNC, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString("routes:\n  - {name: a}\n")
	time.Sleep(400 * time.Millisecond)
	select {
	case <-changes:
		t.Fatal("the first part was reported as a change")
	default:
	}
	f.WriteString("  - {name: b}\n")
	f.Close()
	expectChanges(t, changes, 1, 700*time.Millisecond)
	b, _ := os.ReadFile(path)
	if !strings.Contains(string(b), "name: b") {
		t.Fatal("test wrote the wrong file")
	}
}

func TestWatchSurvivesDeleteAndRecreate(t *testing.T) {
	path := filepath.Join(t.TempDir(), "config.yaml")
	write(t, path, "listen: 127.0.0.1:8080\n")
	changes := watchFile(t, path)

	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	time.Sleep(150 * time.Millisecond) // missing for longer than the debounce
	write(t, path, "listen: 127.0.0.1:8081\n")
	expectChanges(t, changes, 1, 300*time.Millisecond)

	// The watch was re-armed: a later edit is still seen.
	write(t, path, "listen: 127.0.0.1:8082\n")
	expectChanges(t, changes, 1, 300*time.Millisecond)
}

func TestWatchSurvivesRenameOver(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "config.yaml")
	write(t, path, "listen: 127.0.0.1:8080\n")
	changes := watchFile(t, path)

	for i, listen := range []string{"8081", "8082", "8083"} {
		tmp := filepath.Join(dir, ".config.yaml.swp")
		write(t, tmp, "listen: 127.0.0.1:"+listen+"\n")
		if err := os.Rename(tmp, path); err != nil {
			t.Fatal(err)
		}
		t.Logf("replace %d", i)
		expectChanges(t, changes, 1, 250*time.Millisecond)
	}
	write(t, path, "listen: 127.0.0.1:8084\n")
	expectChanges(t, changes, 1, 250*time.Millisecond)
}

func TestWatchMissingFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "config.yaml")
	changes := watchFile(t, path) // must also stop cleanly: no Unwatch deadlock
	select {
	case <-changes:
		t.Fatal("a change before the file exists")
	case <-time.After(200 * time.Millisecond):
	}
	write(t, path, "listen: 127.0.0.1:8080\n")
	expectChanges(t, changes, 1, 250*time.Millisecond)
}

func TestWatchStopsWithContext(t *testing.T) {
	path := filepath.Join(t.TempDir(), "config.yaml")
	write(t, path, "listen: 127.0.0.1:8080\n")
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	calls := make(chan struct{}, 16)
	go func() { done <- Watch(ctx, path, func() { calls <- struct{}{} }) }()
	time.Sleep(50 * time.Millisecond)
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Watch = %v, want nil", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Watch did not return after cancel")
	}
	write(t, path, "listen: 127.0.0.1:8081\n")
	time.Sleep(200 * time.Millisecond)
	if len(calls) != 0 {
		t.Errorf("onChange called %d times after Watch returned", len(calls))
	}
}
