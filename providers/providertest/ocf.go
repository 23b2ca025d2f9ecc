package providertest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
)

// OCF starts a fake OCF (Open Compute Framework) node: GET /v1/dnt/table
// answers a node table in which one peer per model runs an "llm" service
// whose identity_group holds "model=NAME" (beside an identity that is
// not a model, and a peer with a service of another name, which a client
// must ignore), and everything under /v1/service/llm/v1/ is answered as
// the OpenAI fake answers it (chat, embeddings, completions, responses),
// following scripts. Requests to the table are not recorded; TableHits
// counts them.
func OCF(t testing.TB, models []string, scripts ...Script) *OCFNode {
	t.Helper()
	api := OpenAI(t, scripts...)
	node := &OCFNode{Upstream: api}
	node.table = Table(models)
	node.node = &Upstream{}
	start(t, node.node, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.Method == http.MethodGet && r.URL.Path == "/v1/dnt/table":
			node.mu.Lock()
			node.tableHits++
			node.mu.Unlock()
			w.Header().Set("Content-Type", "application/json")
			w.Write(node.table)
		case strings.HasPrefix(r.URL.Path, "/v1/service/llm/v1/"):
			// The node forwards to a peer; here, to the OpenAI fake.
			api.Config.Handler.ServeHTTP(w, r)
		default:
			openAIError(w, http.StatusNotFound, "fake ocf node: no route "+r.Method+" "+r.URL.Path)
		}
	}))
	return node
}

// OCFNode is a running fake OCF node. URL is the node's root, the base
// URL of an ocf provider; the embedded Upstream records the API requests
// (chat and the forwarded paths) the node received.
type OCFNode struct {
	*Upstream // the API behind /v1/service/llm/v1
	node      *Upstream
	table     []byte
	tableHits int
}

// URL is the node's root URL.
func (n *OCFNode) URL() string { return n.node.URL }

// TableHits returns how many times the node table was read.
func (n *OCFNode) TableHits() int {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.tableHits
}

// Table returns a node table in OCF's format serving models, one peer
// each, as OCF returns it from GET /v1/dnt/table.
func Table(models []string) []byte {
	table := map[string]any{
		// A peer with no service (a worker still starting) and one whose
		// only service is not the LLM one: neither serves a model.
		"/QmIdle":  map[string]any{"id": "QmIdle", "status": "pending", "service": []any{}},
		"/QmOther": map[string]any{"id": "QmOther", "service": []any{map[string]any{"name": "sandbox", "identity_group": []string{"model=not-an-llm"}}}},
	}
	for i, m := range models {
		id := fmt.Sprintf("QmPeer%d", i)
		table["/"+id] = map[string]any{
			"id": id, "hostname": fmt.Sprintf("node%d", i), "status": "ready",
			"hardware": map[string]any{"gpus": []any{map[string]any{"name": "GH200"}}},
			"service": []any{map[string]any{
				"name": "llm", "status": "connected", "host": "localhost", "port": "8080",
				"identity_group": []string{"model=" + m, "framework=vllm"},
			}},
		}
	}
	b, _ := json.Marshal(table)
	return b
}
