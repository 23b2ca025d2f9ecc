package main

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/switchyard-router/switchyard/providers/providertest"
)

// MAS's README config, served as it is: two conditions, nothing else. The
// MAS loader makes the last entry the default route, which has a condition
// of its own, so the auto threshold means none: the best condition wins, as
// in MAS. Coding requests must reach gpt-4 and greetings gpt-3.5-turbo,
// through the real serve stack and the real model.
func TestMASReadmeConfigRoutesThroughServe(t *testing.T) {
	up := providertest.OpenAI(t, providertest.Script{Text: "ok"})
	path := filepath.Join(t.TempDir(), "mas.json")
	cfg := fmt.Sprintf(`{
  "baseURL": %q,
  "apiKey": "sk-test",
  "models": [
    {"condition": "programming, code examples, debugging", "model": "gpt-4"},
    {"condition": "general conversation, greetings, simple questions", "model": "gpt-3.5-turbo"}
  ]
}`, up.URL)
	if err := os.WriteFile(path, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	addr, stop, logs := startServe(t, nil, "--config", path, "--models", modelsRootOf(t), "--listen", "127.0.0.1:0")
	defer stop()
	code := []string{
		"Write a quicksort function",
		"my Go program panics with nil map",
		"Explain recursion with an example in Python",
		"how do I reverse a linked list in Java?",
		"fix this: TypeError: undefined is not a function",
		"write a bash script that renames every .txt file to .md",
		"why does my Rust code say borrowed value does not live long enough",
		"implement binary search in C",
		"show me how to read a CSV file with pandas",
		"my unit test fails with a null pointer exception, what's wrong?",
	}
	greetings := []string{
		"hello!",
		"hi there, how are you?",
		"good morning",
		"hey, what's up?",
		"nice to meet you",
		"good evening, how was your day?",
		"thanks, have a great day!",
		"hello, who am I talking to?",
		"hi! how's it going?",
		"bye, see you tomorrow",
	}
	for _, c := range []struct {
		texts []string
		want  string
	}{{code, "mas/gpt-4"}, {greetings, "mas/gpt-3.5-turbo"}} {
		right := 0
		for _, text := range c.texts {
			status, model := ask(t, addr, text)
			if status != 200 {
				t.Fatalf("%q: status %d\n%s", text, status, logs.String())
			}
			if model == c.want {
				right++
			} else {
				t.Errorf("%q went to %s, want %s", text, model, c.want)
			}
		}
		t.Logf("%s: %d/%d", c.want, right, len(c.texts))
	}
}
