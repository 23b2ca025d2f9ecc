// Package ocf is a provider for an OCF (Open Compute Framework) network:
// it learns the models the network serves from its distributed node table
// (GET /v1/dnt/table), and sends requests, in OpenAI's API, through the
// node's LLM service proxy (/v1/service/llm/v1/...), as AI Proxy does for
// its endpoints of type "ocf".
package ocf

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/switchyard-router/switchyard/providers"
	"github.com/switchyard-router/switchyard/providers/openai"
)

// Paths below an OCF node's root URL.
const (
	TablePath = "/v1/dnt/table"      // the node table, for discovery
	APIPath   = "/v1/service/llm/v1" // OpenAI's API, forwarded to a peer serving the model
	modelTag  = "model="             // the identity_group entries that name a model
	llmName   = "llm"                // the service whose models are reachable through APIPath
)

// maxTable bounds the node table read, in bytes.
const maxTable = 32 << 20

// Client is a providers.Provider, Forwarder and Lister for an OCF node.
// Chat and the other OpenAI paths go through the embedded openai.Client,
// whose fields (Timeout, Headers, …) tune them; ListModels reads the node
// table instead of GET /models. Safe for concurrent use once its fields
// are set.
type Client struct {
	*openai.Client
	name  string
	table string // root + TablePath
}

var (
	_ providers.Provider  = (*Client)(nil)
	_ providers.Forwarder = (*Client)(nil)
	_ providers.Lister    = (*Client)(nil)
)

// New returns a client for the OCF node at root (http://host:8092, as
// AI Proxy's endpoint url; a trailing slash is ignored), named name in
// errors, sending "Authorization: Bearer apiKey" unless apiKey is "". hc
// nil means a new http.Client.
func New(name, root, apiKey string, hc *http.Client) *Client {
	if hc == nil {
		hc = &http.Client{}
	}
	root = strings.TrimRight(root, "/")
	return &Client{
		Client: openai.New(name, root+APIPath, apiKey, hc),
		name:   name,
		table:  root + TablePath,
	}
}

// ListModels reads the node table and returns the models its peers'
// LLM services serve (see ParseTable).
func (c *Client) ListModels(ctx context.Context) ([]string, error) {
	body, err := c.Client.Get(ctx, c.table, maxTable)
	if err != nil {
		return nil, err
	}
	models, err := ParseTable(body)
	if err != nil {
		return nil, providers.Transport(c.name, err)
	}
	return models, nil
}

// peer is one entry of the node table, as far as discovery reads it.
type peer struct {
	Service []service `json:"service"`
}

type service struct {
	Name          string   `json:"name"`
	IdentityGroup []string `json:"identity_group"`
}

// ParseTable reads an OCF node table: a JSON object from peer ids to
// peers, each with a "service" list whose entries have a "name" and an
// "identity_group" list. The models are the NAME of every "model=NAME"
// identity of a service named "llm" (or unnamed), sorted, without
// duplicates or empty names. A peer that is not an object, or a service
// list that is not a list, is skipped rather than failing the table: one
// odd peer must not hide the others' models.
func ParseTable(data []byte) ([]string, error) {
	var table map[string]json.RawMessage
	if err := json.Unmarshal(data, &table); err != nil {
		return nil, fmt.Errorf("node table: %w", err)
	}
	if table == nil {
		return nil, fmt.Errorf("node table: not a JSON object")
	}
	var models []string
	for _, raw := range table {
		var p peer
		if json.Unmarshal(raw, &p) != nil {
			continue
		}
		for _, s := range p.Service {
			if s.Name != llmName && s.Name != "" {
				continue
			}
			for _, id := range s.IdentityGroup {
				if m, ok := strings.CutPrefix(id, modelTag); ok && strings.TrimSpace(m) != "" {
					models = append(models, m)
				}
			}
		}
	}
	slices.Sort(models)
	return slices.Compact(models), nil
}
