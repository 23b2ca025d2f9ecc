package anthropic

import (
	"encoding/json"
	"slices"
	"strconv"

	"github.com/switchyard-router/switchyard/providers"
)

// translated lists the top-level Anthropic fields translate carries over
// (or that have no content to carry: stream is set from the request).
var translated = map[string]bool{
	"model": true, "messages": true, "system": true, "max_tokens": true, "temperature": true,
	"top_p": true, "stream": true, "stop_sequences": true, "metadata": true, "tools": true,
	"tool_choice": true,
}

// Untranslated lists, sorted, the top-level fields of an Anthropic request
// that its OpenAI form (Translated) leaves out because OpenAI's API has no
// equivalent (top_k, thinking, service_tier, …): they reach an Anthropic
// upstream, and are dropped for any other. Nil for other dialects.
func Untranslated(req *providers.Request) []string {
	if req.Dialect != providers.DialectAnthropic {
		return nil
	}
	var out []string
	for k := range req.Fields {
		if !translated[k] {
			out = append(out, k)
		}
	}
	slices.Sort(out)
	return out
}

// translate builds the OpenAI chat-completions fields of an Anthropic
// request whose canonical messages are msgs. fields were checked by
// ParseRequest as far as it reads them; the rest is checked here.
func translate(fields map[string]json.RawMessage, msgs []providers.Message, stream bool) (map[string]json.RawMessage, error) {
	out := make(map[string]json.RawMessage, 12)
	if raw, ok := fields["model"]; ok {
		out["model"] = raw
	}
	wire := make([]oaMessage, len(msgs))
	for i, m := range msgs {
		wire[i] = openAIMessage(m)
	}
	out["messages"] = mustMarshal(wire)
	for _, k := range []string{"max_tokens", "temperature", "top_p"} {
		if raw, ok := fields[k]; ok && kind(raw) != 'n' {
			out[k] = raw
		}
	}
	if stream {
		out["stream"] = json.RawMessage("true")
		out["stream_options"] = json.RawMessage(`{"include_usage":true}`)
	}
	if raw, ok := fields["stop_sequences"]; ok && kind(raw) != 'n' {
		var stop []string
		if kind(raw) != '[' || json.Unmarshal(raw, &stop) != nil {
			return nil, invalid("stop_sequences", "must be an array of strings")
		}
		if len(stop) > 0 {
			out["stop"] = mustMarshal(stop)
		}
	}
	if raw, ok := fields["metadata"]; ok && kind(raw) != 'n' {
		md, err := object(raw, "metadata", "must be an object")
		if err != nil {
			return nil, err
		}
		if u, ok := md["user_id"]; ok && kind(u) != 'n' {
			id, err := str(u, "metadata.user_id")
			if err != nil {
				return nil, err
			}
			out["user"] = mustMarshal(id)
		}
	}
	hasTools := false
	if raw, ok := fields["tools"]; ok && kind(raw) != 'n' {
		tools, err := openAITools(raw)
		if err != nil {
			return nil, err
		}
		if len(tools) > 0 {
			out["tools"] = mustMarshal(tools)
			hasTools = true
		}
	}
	if raw, ok := fields["tool_choice"]; ok && kind(raw) != 'n' {
		choice, parallel, err := openAIToolChoice(raw)
		if err != nil {
			return nil, err
		}
		// OpenAI rejects a tool_choice or parallel_tool_calls without
		// tools; Anthropic's server tools, dropped above, may have been
		// the only ones.
		if hasTools {
			out["tool_choice"] = choice
			if parallel != nil {
				out["parallel_tool_calls"] = parallel
			}
		}
	}
	return out, nil
}

// openAIMessage encodes a canonical message the OpenAI way: one text part
// as string content, else an array of text and image_url parts (other
// types have no OpenAI form and are left out); an assistant message with
// tool calls and no text has content null.
func openAIMessage(m providers.Message) oaMessage {
	w := oaMessage{Role: m.Role, ToolCalls: validJSON(m.ToolCalls), ToolCallID: m.ToolCallID, Name: m.Name}
	parts := make([]oaPart, 0, len(m.Parts))
	for _, p := range m.Parts {
		switch p.Type {
		case "text":
			parts = append(parts, oaPart{Type: "text", Text: &p.Text})
		case "image_url":
			parts = append(parts, oaPart{Type: "image_url", ImageURL: &oaURL{URL: p.URL}})
		}
	}
	switch {
	case len(parts) == 1 && parts[0].Type == "text":
		w.Content = mustMarshal(*parts[0].Text)
	case len(parts) > 0:
		w.Content = mustMarshal(parts)
	case w.ToolCalls != nil:
		w.Content = json.RawMessage("null")
	default:
		w.Content = json.RawMessage(`""`)
	}
	return w
}

type oaTool struct {
	Type     string     `json:"type"`
	Function oaFunction `json:"function"`
}

type oaFunction struct {
	Name        string          `json:"name"`
	Description string          `json:"description,omitempty"`
	Parameters  json.RawMessage `json:"parameters,omitempty"`
}

// openAITools translates Anthropic's client tools into OpenAI functions.
// Server tools (web_search_…, bash_…, anything with a type other than
// "custom") run at Anthropic and have no OpenAI form: they are left out.
func openAITools(raw json.RawMessage) ([]oaTool, error) {
	if kind(raw) != '[' {
		return nil, invalid("tools", "must be an array of tools")
	}
	items, err := array(raw, "tools")
	if err != nil {
		return nil, err
	}
	tools := make([]oaTool, 0, len(items))
	for i, item := range items {
		path := "tools[" + strconv.Itoa(i) + "]"
		f, err := object(item, path, "must be an object")
		if err != nil {
			return nil, err
		}
		if t, ok := f["type"]; ok && kind(t) != 'n' {
			typ, err := str(t, path+".type")
			if err != nil {
				return nil, err
			}
			if typ != "custom" {
				continue
			}
		}
		nameRaw, ok := f["name"]
		if !ok {
			return nil, invalid(path+".name", "required")
		}
		tool := oaTool{Type: "function"}
		if tool.Function.Name, err = str(nameRaw, path+".name"); err != nil {
			return nil, err
		}
		if d, ok := f["description"]; ok {
			if tool.Function.Description, err = optString(d, path+".description"); err != nil {
				return nil, err
			}
		}
		schema, ok := f["input_schema"]
		if !ok {
			return nil, invalid(path+".input_schema", "required")
		}
		if kind(schema) != '{' {
			return nil, invalid(path+".input_schema", "must be an object")
		}
		tool.Function.Parameters = schema
		tools = append(tools, tool)
	}
	return tools, nil
}

// openAIToolChoice translates tool_choice, returning OpenAI's tool_choice
// and, when disable_parallel_tool_use is true, parallel_tool_calls false.
func openAIToolChoice(raw json.RawMessage) (choice, parallel json.RawMessage, err error) {
	tc, err := block(raw, "tool_choice")
	if err != nil {
		return nil, nil, err
	}
	switch tc.typ {
	case "auto":
		choice = mustMarshal("auto")
	case "any":
		choice = mustMarshal("required")
	case "none":
		choice = mustMarshal("none")
	case "tool":
		name, err := tc.field("tool_choice", "name")
		if err != nil {
			return nil, nil, err
		}
		choice = mustMarshal(oaTool{Type: "function", Function: oaFunction{Name: name}})
	default:
		return nil, nil, invalid("tool_choice.type", "must be \"auto\", \"any\", \"tool\" or \"none\"")
	}
	if d, ok := tc.fields["disable_parallel_tool_use"]; ok {
		switch kind(d) {
		case 't':
			parallel = json.RawMessage("false")
		case 'f', 'n':
		default:
			return nil, nil, invalid("tool_choice.disable_parallel_tool_use", "must be a boolean")
		}
	}
	return choice, parallel, nil
}
