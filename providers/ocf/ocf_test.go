package ocf_test

import (
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/switchyard-router/switchyard/providers"
	"github.com/switchyard-router/switchyard/providers/ocf"
	"github.com/switchyard-router/switchyard/providers/providertest"
)

func TestParseTable(t *testing.T) {
	tests := []struct {
		name, table string
		want        []string
		wantErr     bool
	}{
		{"models of llm services", `{"/Qm1":{"service":[{"name":"llm","identity_group":["model=b/B","framework=vllm","model=a"]}]},
			"/Qm2":{"service":[{"name":"llm","identity_group":["model=a"]}]}}`, []string{"a", "b/B"}, false},
		{"other services and empty names ignored", `{"/Qm1":{"service":[{"name":"sandbox","identity_group":["model=x"]},{"identity_group":["model=","model=y"]}]}}`, []string{"y"}, false},
		{"odd peers skipped", `{"/Qm1":{"service":"oops"},"/Qm2":7,"/Qm3":{"service":[{"name":"llm","identity_group":["model=z"]}]}}`, []string{"z"}, false},
		{"empty table", `{}`, nil, false},
		{"not an object", `[]`, nil, true},
		{"null", `null`, nil, true},
		{"garbage", `{"/Qm1":`, nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ocf.ParseTable([]byte(tt.table))
			if (err != nil) != tt.wantErr || !slices.Equal(got, tt.want) {
				t.Errorf("ParseTable = %q, %v; want %q, error %v", got, err, tt.want, tt.wantErr)
			}
		})
	}
}

func FuzzParseTable(f *testing.F) {
	f.Add(providertest.Table([]string{"Qwen/Qwen2.5-7B-Instruct", "m"}))
	for _, s := range []string{`{}`, `[]`, `{"/a":{"service":[{"name":"llm","identity_group":["model=x"]}]}}`, `{"/a":{"service":null}}`, `nul`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		models, err := ocf.ParseTable(data)
		if err != nil {
			return
		}
		if !slices.IsSorted(models) || len(slices.Compact(slices.Clone(models))) != len(models) {
			t.Fatalf("models %q not sorted and unique", models)
		}
		for _, m := range models {
			if strings.TrimSpace(m) == "" {
				t.Fatalf("empty model name from %q", data)
			}
		}
		if !json.Valid(data) {
			t.Fatalf("accepted invalid JSON %q", data)
		}
	})
}

// TestClient: the node table is read from /v1/dnt/table with the key, and
// chat goes through /v1/service/llm/v1.
func TestClient(t *testing.T) {
	node := providertest.OCF(t, []string{"m1", "m2"}, providertest.Script{Text: "hi"})
	c := ocf.New("ocf", node.URL(), "sk-1", nil)
	models, err := c.ListModels(t.Context())
	if err != nil || !slices.Equal(models, []string{"m1", "m2"}) {
		t.Fatalf("ListModels = %q, %v", models, err)
	}
	resp, err := c.Complete(t.Context(), &providers.Request{Model: "m2", Messages: []providers.Message{{Role: "user", Parts: []providers.Part{{Type: "text", Text: "x"}}}}})
	if err != nil || resp.Message.Text() != "hi" || resp.Model != "m2" {
		t.Fatalf("Complete = %+v, %v", resp, err)
	}
	if node.LastHeader().Get("Authorization") != "Bearer sk-1" {
		t.Errorf("chat sent no key")
	}

	bad := ocf.New("ocf", providertest.OpenAI(t).URL, "", nil) // no node table there
	_, err = bad.ListModels(t.Context())
	var pe *providers.Error
	if !strings.Contains(err.Error(), "404") || !errors.As(err, &pe) || pe.Upstream != http.StatusNotFound {
		t.Errorf("ListModels of a non-OCF server = %v; want an upstream 404", err)
	}
}
