package providers_test

import (
	"encoding/json"
	"testing"

	"github.com/switchyard-router/switchyard/providers"
)

// TestWithModel checks that a copy asking for another model has it in its
// fields and leaves the original alone, and that one asking for the same
// model shares the original's fields.
func TestWithModel(t *testing.T) {
	orig := &providers.Request{Model: "a", Fields: map[string]json.RawMessage{"model": json.RawMessage(`"a"`), "n": json.RawMessage(`1`)}}
	b := orig.WithModel("b<")
	if b.Model != "b<" || string(b.Fields["model"]) != `"b\u003c"` || string(b.Fields["n"]) != `1` {
		t.Errorf("copy: %q %s", b.Model, b.Fields)
	}
	if orig.Model != "a" || string(orig.Fields["model"]) != `"a"` {
		t.Errorf("original changed: %q %s", orig.Model, orig.Fields)
	}
	same := orig.WithModel("a")
	if same == orig || same.Model != "a" || string(same.Fields["model"]) != `"a"` {
		t.Errorf("same model: %p %q %s", same, same.Model, same.Fields)
	}
	tr := &providers.Request{Model: "a", Dialect: providers.DialectAnthropic,
		Fields: map[string]json.RawMessage{"model": json.RawMessage(`"a"`)}, Translated: map[string]json.RawMessage{"model": json.RawMessage(`"x"`)}}
	if got := tr.WithModel("a"); string(got.Translated["model"]) != `"a"` {
		t.Errorf("translated: %s", got.Translated)
	}
}
