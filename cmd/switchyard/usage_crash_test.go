package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/switchyard-router/switchyard/providers/providertest"
	"github.com/switchyard-router/switchyard/usage"
)

// TestUsageAfterSIGKILL: switchyard killed (SIGKILL) under load loses at
// most the rows still in its write queue (usage.queue) and the batch being
// written; every row that reached the store is intact. It runs the built
// binary, which scripts/test.sh names in SWITCHYARD_BIN.
func TestUsageAfterSIGKILL(t *testing.T) {
	bin := fromTestScript(t, "SWITCHYARD_BIN")
	const queue, batch = 10000, 500 // usage.queue as configured below; the writer's batch
	up := providertest.OpenAI(t, providertest.Script{Text: "ok", Usage: true})
	dir := t.TempDir()
	cfg := fmt.Sprintf("listen: 127.0.0.1:0\nproviders:\n  - {name: up, kind: openai, base_url: %s, models: [m]}\nusage: {queue: %d}\n", up.URL, queue)
	path := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "serve", "--config", path)
	cmd.Env = append(os.Environ(), "XDG_DATA_HOME="+dir, "XDG_CONFIG_HOME="+dir, "XDG_CACHE_HOME="+dir)
	stderr, _ := cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			var line struct{ Message, Addr string }
			if json.Unmarshal(sc.Bytes(), &line) == nil && line.Message == "listening" {
				addr <- line.Addr
			}
		}
	}()
	var base string
	select {
	case a := <-addr:
		base = "http://" + a
	case <-time.After(30 * time.Second):
		t.Fatal("serve did not listen within 30s")
	}

	var answered atomic.Int64
	ctx, stopLoad := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for ctx.Err() == nil {
				res, err := http.Post(base+"/v1/chat/completions", "application/json",
					strings.NewReader(`{"model":"m","messages":[{"role":"user","content":"hi"}]}`))
				if err != nil {
					return
				}
				io.Copy(io.Discard, res.Body)
				res.Body.Close()
				if res.StatusCode == http.StatusOK {
					answered.Add(1)
				}
			}
		})
	}
	time.Sleep(2500 * time.Millisecond)
	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()
	stopLoad()
	wg.Wait()

	store, err := usage.OpenSQLite(t.Context(), filepath.Join(dir, "switchyard", "usage.db"))
	if err != nil {
		t.Fatalf("the store after SIGKILL: %v", err)
	}
	defer store.Close()
	rows, err := store.Count(t.Context(), time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	lost := answered.Load() - rows
	t.Logf("answered %d requests in 2.5 s, then SIGKILL: %d rows in the store, %d lost (queue bound %d + batch %d)", answered.Load(), rows, lost, queue, batch)
	if rows == 0 || rows > answered.Load() || lost > queue+batch {
		t.Errorf("rows %d of %d answered: want some, no more than answered, and at most %d lost", rows, answered.Load(), queue+batch)
	}
}
