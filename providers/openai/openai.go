// Package openai speaks OpenAI's chat-completions dialect: it decodes
// client requests into the canonical providers.Request (ParseRequest),
// encodes canonical answers and errors for the client (Completion,
// StreamChunk, NewError), and is a providers.Provider for any
// OpenAI-compatible upstream (Client).
package openai

import (
	"encoding/json"

	"github.com/switchyard-router/switchyard/providers"
)

// Wire types, only as far as this package reads or writes them; the Raw
// fields of providers.Response and providers.Chunk carry everything else.

type wireCompletion struct {
	ID      string           `json:"id"`
	Object  string           `json:"object"`
	Created int64            `json:"created"`
	Model   string           `json:"model"`
	Choices []wireChoice     `json:"choices"`
	Usage   *providers.Usage `json:"usage,omitempty"`
	Error   json.RawMessage  `json:"error,omitempty"`
}

type wireChoice struct {
	Index        int          `json:"index"`
	Message      *wireMessage `json:"message,omitempty"`
	Delta        *wireMessage `json:"delta,omitempty"`
	FinishReason *string      `json:"finish_reason"`
}

type wireMessage struct {
	Role       string          `json:"role,omitempty"`
	Content    json.RawMessage `json:"content,omitempty"`
	ToolCalls  json.RawMessage `json:"tool_calls,omitempty"`
	ToolCallID string          `json:"tool_call_id,omitempty"`
	Name       string          `json:"name,omitempty"`
	// Reasoning text some servers stream before the answer (DeepSeek,
	// vLLM, llama.cpp: reasoning_content; OpenRouter, Ollama: reasoning).
	// Read from answers only.
	ReasoningContent string `json:"reasoning_content,omitempty"`
	Reasoning        string `json:"reasoning,omitempty"`
}

type wirePart struct {
	Type     string   `json:"type"`
	Text     *string  `json:"text,omitempty"`
	ImageURL *wireURL `json:"image_url,omitempty"`
}

type wireURL struct {
	URL string `json:"url"`
}

type wireError struct {
	Error struct {
		Message string          `json:"message"`
		Type    string          `json:"type"`
		Param   json.RawMessage `json:"param"`
		Code    json.RawMessage `json:"code"`
	} `json:"error"`
}
