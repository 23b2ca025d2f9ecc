package convlog

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestRedactContent(t *testing.T) {
	e := redact(Entry{
		Request:   json.RawMessage(`{"model":"m","messages":[{"role":"user","content":"my secret plan"},{"role":"user","content":[{"type":"text","text":"more"}]}],"system":"be brief"}`),
		Answer:    json.RawMessage(`{"choices":[{"message":{"role":"assistant","content":"the answer"}}]}`),
		Text:      "streamed words",
		ToolCalls: json.RawMessage(`[[{"index":0,"function":{"name":"get_weather","arguments":"{\"city\":\"Paris\"}"}}]]`),
	})
	all := string(e.Request) + string(e.Answer) + e.Text + string(e.ToolCalls)
	for _, secret := range []string{"secret plan", "more", "be brief", "the answer", "streamed", "Paris"} {
		if strings.Contains(all, secret) {
			t.Errorf("redacted entry still holds %q: %s", secret, all)
		}
	}
	for _, kept := range []string{`"model":"m"`, `"role":"user"`, `"get_weather"`, `[14 chars]`} {
		if !strings.Contains(all, kept) {
			t.Errorf("redacted entry lost %s: %s", kept, all)
		}
	}
}

func TestLogWritesReadsAndRotates(t *testing.T) {
	path := filepath.Join(t.TempDir(), "conv.jsonl")
	l, err := Open(Options{Path: path, MaxSizeMB: 1, MaxBackups: 2})
	if err != nil {
		t.Fatal(err)
	}
	big := strings.Repeat("x", 100<<10)
	for i := range 30 { // 3 MB: two rotations
		key := "alice"
		if i%3 == 0 {
			key = "bob"
		}
		l.Add(Entry{Time: time.Now(), RequestID: "r", Key: key, Route: "code", Status: 200, Text: big})
	}
	if err := l.Close(t.Context()); err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob(filepath.Join(filepath.Dir(path), "conv-*.jsonl"))
	if len(files) == 0 {
		t.Errorf("no rotated file beside %s after 3 MB with max_size_mb 1", path)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var n int
	if err := Read(f, Filter{Key: "bob"}, func(e Entry) error {
		if e.Key != "bob" {
			t.Errorf("filter let through %q", e.Key)
		}
		n++
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	var all bytes.Buffer
	f.Seek(0, 0)
	all.ReadFrom(f)
	if n == 0 || strings.Count(all.String(), "\n") < n {
		t.Errorf("read %d of bob's entries from the current file", n)
	}
}

// TestFind: a request's entry is found by its id once written; an
// unknown id, or a log not yet written, finds nothing.
func TestFind(t *testing.T) {
	l, err := Open(Options{Path: filepath.Join(t.TempDir(), "c.jsonl")})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok, err := l.Find("r-1"); ok || err != nil {
		t.Errorf("before any entry: %v %v", ok, err)
	}
	l.Add(Entry{RequestID: "r-1", Route: "code", Text: "first"})
	l.Add(Entry{RequestID: "r-2", Route: "chat", Text: "second"})
	if err := l.Close(t.Context()); err != nil {
		t.Fatal(err)
	}
	e, ok, err := l.Find("r-2")
	if err != nil || !ok || e.Text != "second" || e.Route != "chat" {
		t.Errorf("r-2: %+v %v %v", e, ok, err)
	}
	if _, ok, _ := l.Find("r-3"); ok {
		t.Error("found an unknown request")
	}
}
