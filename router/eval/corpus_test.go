package eval

import (
	"strings"
	"testing"
)

func TestReadCorpusBothFormats(t *testing.T) {
	in := `{"text": "fix my segfault", "label": "code", "id": 17}

# a comment
{"messages": [{"role": "system", "content": "be brief"}, {"role": "user", "content": [{"type": "text", "text": "a poem"}, {"type": "image_url", "image_url": {"url": "data:x"}}]}], "label": "creative"}
{"messages": [{"role": "user", "content": "weather?"}, {"role": "assistant", "content": null}], "label": "oos"}
`
	got, err := ReadCorpus(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 {
		t.Fatalf("got %d examples, want 3", len(got))
	}
	if got[0].Line != 1 || got[0].Label != "code" || got[0].Messages[0].Role != "user" || got[0].Messages[0].Text() != "fix my segfault" {
		t.Errorf("text line: %+v", got[0])
	}
	if got[1].Line != 4 || len(got[1].Messages) != 2 || got[1].Messages[1].Text() != "a poem" || got[1].Messages[1].Parts[1].URL != "data:x" {
		t.Errorf("messages line: %+v", got[1])
	}
	if got[2].Line != 5 || got[2].Label != OOS || len(got[2].Messages[1].Parts) != 0 {
		t.Errorf("null content: %+v", got[2])
	}
}

func TestReadCorpusReportsEveryBadLine(t *testing.T) {
	in := `{"text": "ok", "label": "code"}
{"text": "unterminated
{"text": "no label"}
{"text": "  ", "label": "code"}
{"text": "x", "messages": [{"role": "user", "content": "y"}], "label": "code"}
{"label": "code"}
{"messages": [{"content": "no role"}], "label": "code"}
{"text": "x", "label": 3}
`
	_, err := ReadCorpus(strings.NewReader(in))
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{"line 2:", "line 3: missing", "line 4: \"text\" is blank", "line 5: has both", "line 6: needs", "line 7: message 0: missing \"role\"", "line 8: bad JSON"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not contain %q", err, want)
		}
	}
	if strings.Contains(err.Error(), "line 1:") {
		t.Errorf("good line 1 reported: %v", err)
	}
}

func TestReadCorpusEmpty(t *testing.T) {
	if _, err := ReadCorpus(strings.NewReader("\n# nothing\n")); err == nil {
		t.Fatal("empty corpus accepted")
	}
}

func TestCheckLabels(t *testing.T) {
	c := []Example{{Label: "code"}, {Label: OOS}, {Label: "poetry"}, {Label: "cooking"}, {Label: "poetry"}}
	err := CheckLabels(c, []string{"code", "chat"})
	if err == nil || !strings.Contains(err.Error(), "cooking, poetry") {
		t.Fatalf("got %v, want both unknown labels listed once", err)
	}
	if err := CheckLabels(c[:2], []string{"code"}); err != nil {
		t.Fatal(err)
	}
}
