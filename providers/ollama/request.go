package ollama

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/ollama/ollama/api"

	"github.com/switchyard-router/switchyard/providers"
)

// chatRequest translates req into the body of Ollama's /api/chat. It does
// no I/O. stream is the flag sent upstream: the method called (Complete or
// Stream) decides it, not req.Stream. Every error is the client's fault (a
// request Ollama cannot be given), so callers report it as a 400.
func chatRequest(req *providers.Request, stream bool) (*api.ChatRequest, error) {
	msgs, err := messages(req.Messages)
	if err != nil {
		return nil, err
	}
	out := &api.ChatRequest{Model: req.Model, Messages: msgs, Stream: &stream}
	if out.Options, err = options(req.OpenAI()); err != nil {
		return nil, err
	}
	if out.Format, err = format(req.OpenAI()); err != nil {
		return nil, err
	}
	if out.Tools, err = tools(req.OpenAI()); err != nil {
		return nil, err
	}
	if out.Think, err = think(req.OpenAI()); err != nil {
		return nil, err
	}
	return out, nil
}

// messages translates the conversation. Ollama has no "developer" role, and
// its tool results carry the tool's name, which OpenAI clients usually leave
// to the tool_call_id: the name is found in the assistant turn that made the
// call.
func messages(in []providers.Message) ([]api.Message, error) {
	out := make([]api.Message, 0, len(in))
	var names map[string]string // tool call ID → function name
	for i, m := range in {
		var om api.Message
		switch m.Role {
		case "system", "developer":
			om.Role = "system"
		case "user", "assistant":
			om.Role = m.Role
		case "tool", "function":
			om.Role = "tool"
		default:
			return nil, fmt.Errorf("messages[%d]: unsupported role %q", i, m.Role)
		}
		var err error
		if om.Content, om.Images, err = content(m.Parts); err != nil {
			return nil, fmt.Errorf("messages[%d]: %w", i, err)
		}
		if m.Role == "assistant" {
			if om.ToolCalls, err = toolCalls(m.ToolCalls); err != nil {
				return nil, fmt.Errorf("messages[%d]: tool_calls: %w", i, err)
			}
			for _, tc := range om.ToolCalls {
				if tc.ID == "" {
					continue
				}
				if names == nil {
					names = make(map[string]string)
				}
				names[tc.ID] = tc.Function.Name
			}
		}
		if om.Role == "tool" {
			om.ToolCallID = m.ToolCallID
			om.ToolName = m.Name
			if om.ToolName == "" {
				om.ToolName = names[m.ToolCallID]
			}
		}
		out = append(out, om)
	}
	return out, nil
}

// content joins the text parts with newlines, as providers.Message.Text
// does, and decodes the images, which Ollama takes as raw bytes only. Audio,
// files and other parts Ollama has no place for are refused rather than
// silently dropped.
func content(parts []providers.Part) (string, []api.ImageData, error) {
	var images []api.ImageData
	for i, p := range parts {
		switch p.Type {
		case "text":
		case "refusal":
			// An assistant's earlier refusal: the canonical form keeps
			// only its type, so there is nothing to send.
		case "image_url":
			img, err := image(p.URL)
			if err != nil {
				return "", nil, fmt.Errorf("content[%d]: %w", i, err)
			}
			images = append(images, img)
		default:
			return "", nil, fmt.Errorf("content[%d]: unsupported content part type %q", i, p.Type)
		}
	}
	return providers.Message{Parts: parts}.Text(), images, nil
}

// image decodes a base64 data: URI. Ollama cannot fetch remote images, and
// fetching them here would make the gateway a client-steered HTTP fetcher,
// so those are refused.
func image(uri string) (api.ImageData, error) {
	if strings.HasPrefix(uri, "http://") || strings.HasPrefix(uri, "https://") {
		return nil, errors.New("remote image URLs are not supported by ollama: send the image as a base64 data: URI")
	}
	rest, ok := strings.CutPrefix(uri, "data:")
	if !ok {
		return nil, errors.New("image_url must be a base64 data: URI")
	}
	meta, data, ok := strings.Cut(rest, ",")
	if !ok || !strings.HasSuffix(meta, ";base64") {
		return nil, errors.New("image data: URI must be base64 encoded")
	}
	img, err := base64.StdEncoding.DecodeString(data)
	if err != nil {
		// Some clients strip the padding.
		if img, err = base64.RawStdEncoding.DecodeString(data); err != nil {
			return nil, fmt.Errorf("image data: URI: %w", err)
		}
	}
	return img, nil
}

// openAIToolCall is one entry of an assistant message's tool_calls, in
// OpenAI's shape.
type openAIToolCall struct {
	Index    *int   `json:"index,omitempty"` // streamed deltas only
	ID       string `json:"id"`
	Type     string `json:"type"`
	Function struct {
		Name string `json:"name"`
		// Arguments is a JSON object encoded as a JSON string.
		Arguments json.RawMessage `json:"arguments"`
	} `json:"function"`
}

// toolCalls translates an assistant's OpenAI tool calls. The arguments are
// a JSON object encoded in a string; a bare object is accepted too.
func toolCalls(raw json.RawMessage) ([]api.ToolCall, error) {
	if isNull(raw) {
		return nil, nil
	}
	var in []openAIToolCall
	if err := json.Unmarshal(raw, &in); err != nil {
		return nil, err
	}
	out := make([]api.ToolCall, 0, len(in))
	for i, tc := range in {
		if tc.Type != "" && tc.Type != "function" {
			return nil, fmt.Errorf("[%d]: unsupported tool call type %q", i, tc.Type)
		}
		args := api.NewToolCallFunctionArguments()
		obj := tc.Function.Arguments
		var s string
		if err := json.Unmarshal(obj, &s); err == nil {
			obj = json.RawMessage(s)
		}
		if len(bytes.TrimSpace(obj)) > 0 && !isNull(obj) {
			if err := json.Unmarshal(obj, &args); err != nil {
				return nil, fmt.Errorf("[%d]: arguments must be a JSON object: %w", i, err)
			}
		}
		out = append(out, api.ToolCall{
			ID:       tc.ID,
			Function: api.ToolCallFunction{Index: i, Name: tc.Function.Name, Arguments: args},
		})
	}
	return out, nil
}

// options translates the sampling fields Ollama has an option for.
// max_completion_tokens wins over the older max_tokens.
func options(fields map[string]json.RawMessage) (map[string]any, error) {
	opts := make(map[string]any)
	for _, f := range []struct{ key, option string }{
		{"temperature", "temperature"},
		{"top_p", "top_p"},
		{"presence_penalty", "presence_penalty"},
		{"frequency_penalty", "frequency_penalty"},
	} {
		v, ok, err := field[float64](fields, f.key)
		if err != nil {
			return nil, err
		}
		if ok {
			opts[f.option] = v
		}
	}
	for _, f := range []struct{ key, option string }{
		{"seed", "seed"},
		{"max_tokens", "num_predict"},
		{"max_completion_tokens", "num_predict"},
	} {
		v, ok, err := field[int](fields, f.key)
		if err != nil {
			return nil, err
		}
		if ok {
			opts[f.option] = v
		}
	}
	stop, err := stops(fields)
	if err != nil {
		return nil, err
	}
	if len(stop) > 0 {
		opts["stop"] = stop
	}
	if len(opts) == 0 {
		return nil, nil
	}
	return opts, nil
}

// stops reads "stop", a string or an array of strings.
func stops(fields map[string]json.RawMessage) ([]string, error) {
	raw := fields["stop"]
	if isNull(raw) {
		return nil, nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err == nil {
		if s == "" {
			return nil, nil
		}
		return []string{s}, nil
	}
	var list []string
	if err := json.Unmarshal(raw, &list); err != nil {
		return nil, errors.New(`"stop" must be a string or an array of strings`)
	}
	return list, nil
}

// format translates response_format: json_object becomes Ollama's "json"
// and json_schema its schema (structured outputs).
func format(fields map[string]json.RawMessage) (json.RawMessage, error) {
	rf, ok, err := field[struct {
		Type       string `json:"type"`
		JSONSchema *struct {
			Schema json.RawMessage `json:"schema"`
		} `json:"json_schema"`
	}](fields, "response_format")
	if err != nil || !ok {
		return nil, err
	}
	switch rf.Type {
	case "", "text":
		return nil, nil
	case "json_object":
		return json.RawMessage(`"json"`), nil
	case "json_schema":
		if rf.JSONSchema == nil || isNull(rf.JSONSchema.Schema) {
			return json.RawMessage(`"json"`), nil
		}
		return rf.JSONSchema.Schema, nil
	}
	return nil, fmt.Errorf("unsupported response_format type %q", rf.Type)
}

// tools translates OpenAI function tools. Ollama cannot force or forbid a
// call, but tool_choice "none" is honoured by not offering the tools.
func tools(fields map[string]json.RawMessage) (api.Tools, error) {
	if choice, ok, _ := field[string](fields, "tool_choice"); ok && choice == "none" {
		return nil, nil
	}
	in, ok, err := field[[]struct {
		Type     string          `json:"type"`
		Function json.RawMessage `json:"function"`
	}](fields, "tools")
	if err != nil || !ok {
		return nil, err
	}
	out := make(api.Tools, 0, len(in))
	for i, t := range in {
		if t.Type != "function" {
			return nil, fmt.Errorf("tools[%d]: unsupported tool type %q", i, t.Type)
		}
		var fn api.ToolFunction
		if err := json.Unmarshal(t.Function, &fn); err != nil {
			return nil, fmt.Errorf("tools[%d]: %w", i, err)
		}
		if fn.Name == "" {
			return nil, fmt.Errorf("tools[%d]: function name is required", i)
		}
		out = append(out, api.Tool{Type: "function", Function: fn})
	}
	return out, nil
}

// think translates reasoning_effort into Ollama's think value.
func think(fields map[string]json.RawMessage) (*api.ThinkValue, error) {
	effort, ok, err := field[string](fields, "reasoning_effort")
	if err != nil || !ok {
		return nil, err
	}
	switch effort {
	case "none", "minimal":
		return &api.ThinkValue{Value: false}, nil
	case "low", "medium", "high":
		return &api.ThinkValue{Value: effort}, nil
	}
	return nil, fmt.Errorf("unsupported reasoning_effort %q", effort)
}

// field decodes fields[key]; ok is false when the field is absent or null.
func field[T any](fields map[string]json.RawMessage, key string) (v T, ok bool, err error) {
	raw := fields[key]
	if isNull(raw) {
		return v, false, nil
	}
	if err := json.Unmarshal(raw, &v); err != nil {
		return v, false, fmt.Errorf("invalid %q: %w", key, err)
	}
	return v, true, nil
}

func isNull(raw json.RawMessage) bool {
	raw = bytes.TrimSpace(raw)
	return len(raw) == 0 || bytes.Equal(raw, []byte("null"))
}
