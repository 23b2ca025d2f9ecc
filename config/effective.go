package config

import (
	"bytes"
	"fmt"

	"go.yaml.in/yaml/v3"
)

// Effective renders c as YAML, for `switchyard config check`: every key
// with its final value. Secrets are masked: api_key_env shows the
// variable's name (this package never reads its value) and a MAS file's
// literal key appears as api_key: "****" plus at most its last 4
// characters.
func (c *Config) Effective() ([]byte, error) {
	var doc yaml.Node
	if err := doc.Encode(c); err != nil {
		return nil, fmt.Errorf("config: render: %w", err)
	}
	if ps := mappingValue(&doc, "providers"); ps != nil && ps.Kind == yaml.SequenceNode {
		for i, pn := range ps.Content {
			if i < len(c.Providers) && c.Providers[i].APIKey != "" && pn.Kind == yaml.MappingNode {
				pn.Content = append(pn.Content,
					&yaml.Node{Kind: yaml.ScalarNode, Value: "api_key"},
					&yaml.Node{Kind: yaml.ScalarNode, Value: mask(c.Providers[i].APIKey), Style: yaml.DoubleQuotedStyle},
				)
			}
		}
	}
	var b bytes.Buffer
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(&doc); err != nil {
		return nil, fmt.Errorf("config: render: %w", err)
	}
	if err := enc.Close(); err != nil {
		return nil, fmt.Errorf("config: render: %w", err)
	}
	return b.Bytes(), nil
}

// mappingValue returns the value of key in a mapping node (or a document
// holding one), or nil.
func mappingValue(n *yaml.Node, key string) *yaml.Node {
	if n.Kind == yaml.DocumentNode && len(n.Content) == 1 {
		n = n.Content[0]
	}
	if n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i+1]
		}
	}
	return nil
}

// mask hides a secret: "****" plus its last 4 characters when it is long
// enough (12+) that those do not give most of it away.
func mask(s string) string {
	const shown, minLen = 4, 12
	switch r := []rune(s); {
	case len(r) == 0:
		return ""
	case len(r) < minLen:
		return "****"
	default:
		return "****" + string(r[len(r)-shown:])
	}
}
