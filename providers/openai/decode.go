package openai

import (
	"bytes"
	"errors"
	"unsafe"

	"github.com/switchyard-router/switchyard/providers"
	"github.com/switchyard-router/switchyard/providers/jsonbody"
)

// Every chunk of a stream is decoded here, so this is the hot path of a
// relayed stream: a chunk's bytes are copied once, into an arena, and its
// Raw and strings are slices of that copy, so that a chunk costs no
// allocation of its own. Only what is not in the common shape (a key in
// another case, an escaped key, a key twice, a value of the wrong type)
// is decoded the slow way, by encoding/json, so the result is always what
// encoding/json would make of the chunk.

// arena hands out byte slices carved from blocks it never writes twice:
// what it returned stays valid and unchanged for as long as anything
// refers to it, and a block is freed by the garbage collector once
// nothing does. It is not safe for concurrent use.
type arena struct {
	buf []byte
	// single: the arena serves one value (a whole answer), whose strings
	// alias it; escaped strings get allocations of their own.
	single bool
}

// arenaBlock is the size of an arena's blocks; a value over a quarter of
// it gets an allocation of its own.
const arenaBlock = 8 << 10

// copy returns a copy of b.
func (a *arena) copy(b []byte) []byte {
	if len(b) > cap(a.buf)-len(a.buf) {
		if len(b) > arenaBlock/4 {
			return bytes.Clone(b)
		}
		a.buf = make([]byte, 0, arenaBlock)
	}
	n := len(a.buf)
	a.buf = append(a.buf, b...)
	return a.buf[n:len(a.buf):len(a.buf)]
}

// unquote returns the decoded JSON string raw (quotes included; valid
// JSON), which must be a slice the arena handed out or one that is never
// modified: its bytes when it has no escapes, else a decoded copy in the
// arena.
func (a *arena) unquote(raw []byte) string {
	if len(raw) <= 2 {
		return ""
	}
	if jsonbody.Plain(raw) {
		return unsafe.String(&raw[1], len(raw)-2)
	}
	if len(raw)*3 > cap(a.buf)-len(a.buf) {
		if a.single || len(raw)*3 > arenaBlock/4 {
			return string(jsonbody.AppendUnquoted(nil, raw))
		}
		a.buf = make([]byte, 0, arenaBlock)
	}
	n := len(a.buf)
	a.buf = jsonbody.AppendUnquoted(a.buf, raw) // at most 3 bytes per input byte: stays in place
	if len(a.buf) == n {
		return ""
	}
	return unsafe.String(&a.buf[n], len(a.buf)-n)
}

// errSlowPath is returned by the scanners for what they leave to
// encoding/json.
var errSlowPath = errors.New("openai: decode with encoding/json")

// chunkDecoder decodes the chunks of one stream.
type chunkDecoder struct {
	arena arena
}

// decode decodes one chat.completion.chunk event, as parseChunk does; the
// chunk's Raw and strings live in the decoder's arena.
func (d *chunkDecoder) decode(data []byte) (providers.Chunk, error) {
	if kind(data) != '{' || !jsonbody.Valid(data) {
		return parseChunk(data)
	}
	raw := d.arena.copy(data)
	ch, err := d.scanChunk(raw)
	if err != nil {
		return parseChunk(raw)
	}
	return ch, nil
}

// envelope is the top level that a chunk and a whole answer share: the
// fields read, and the choices and usage left as they are for the caller.
type envelope struct {
	id, model      string
	created        int64
	choices, usage []byte
}

// scanEnvelope reads raw's top-level members, each at most once; an
// unknown key, a repeated one or a non-null "error" is errSlowPath (the
// slow parsers make the upstreamError).
func (d *chunkDecoder) scanEnvelope(raw []byte) (envelope, error) {
	var e envelope
	var seen uint8
	members := jsonbody.ObjectMembers(raw)
	for {
		key, val, ok := members.Next()
		if !ok {
			return e, nil
		}
		var bit uint8
		var err error
		switch string(key) {
		case `"id"`:
			bit = 1
			e.id, err = d.str(val)
		case `"model"`:
			bit = 2
			e.model, err = d.str(val)
		case `"created"`:
			bit = 4
			e.created, err = integer(val)
		case `"object"`:
			bit = 8
			_, err = d.str(val)
		case `"choices"`:
			bit = 16
			e.choices = val
		case `"usage"`:
			bit = 32
			e.usage = val
		case `"error"`:
			bit = 64
			if kind(val) != 'n' {
				err = errSlowPath
			}
		default:
			err = plainKey(key)
		}
		if err != nil || seen&bit != 0 {
			return e, errSlowPath
		}
		seen |= bit
	}
}

// scanChunk is parseChunk for valid JSON, or errSlowPath.
func (d *chunkDecoder) scanChunk(raw []byte) (providers.Chunk, error) {
	ch := providers.Chunk{Raw: raw}
	e, err := d.scanEnvelope(raw)
	if err != nil {
		return ch, err
	}
	ch.ID, ch.Model, ch.Created = e.id, e.model, e.created
	if e.choices != nil {
		if err := d.scanChoices(e.choices, &ch); err != nil {
			return ch, errSlowPath
		}
	}
	if e.usage != nil && kind(e.usage) != 'n' {
		u := new(providers.Usage) // the final chunk's only
		if err := scanUsage(e.usage, u); err != nil {
			return ch, errSlowPath
		}
		ch.Usage = u
	}
	return ch, nil
}

// scanChoices reads the choices array into ch: the first choice of index 0
// with a delta, as parseChunk does.
func (d *chunkDecoder) scanChoices(val []byte, ch *providers.Chunk) error {
	switch kind(val) {
	case 'n':
		return nil
	case '[':
	default:
		return errSlowPath
	}
	found := false
	elems := jsonbody.ArrayElements(val)
	for {
		el, ok := elems.Next()
		if !ok {
			return nil
		}
		switch kind(el) {
		case 'n':
			continue
		case '{':
		default:
			return errSlowPath
		}
		var delta wireMessage
		index, content, finish, has, err := d.scanChoice(el, `"delta"`, &delta)
		if err != nil {
			return err
		}
		if found || index != 0 || !has {
			continue
		}
		found = true
		ch.Role = delta.Role
		if kind(content) == '"' {
			ch.Text = d.arena.unquote(content)
		}
		if kind(delta.ToolCalls) == '[' {
			ch.ToolCalls = delta.ToolCalls
		}
		ch.Reasoning = delta.ReasoningContent + delta.Reasoning
		ch.FinishReason = finish
	}
}

// scanChoice reads one choice object: its index, finish reason, and the
// message under main (`"delta"` for a chunk, `"message"` for an answer)
// into m, with its raw content and whether it was there (not null); the
// other of the two is checked and dropped. A key twice, or a value of an
// unexpected type, is errSlowPath.
func (d *chunkDecoder) scanChoice(el []byte, main string, m *wireMessage) (index int64, content []byte, finish string, has bool, err error) {
	var seen uint8
	members := jsonbody.ObjectMembers(el)
	for {
		key, v, ok := members.Next()
		if !ok {
			return index, content, finish, has, nil
		}
		var bit uint8
		switch k := string(key); {
		case k == `"index"`:
			bit = 1
			index, err = integer(v)
		case k == main:
			bit = 2
			has = kind(v) != 'n'
			content, err = d.scanMessage(v, m)
		case k == `"delta"` || k == `"message"`:
			bit = 4
			_, err = d.scanMessage(v, &wireMessage{})
		case k == `"finish_reason"`:
			bit = 8
			finish, err = d.str(v)
		default:
			err = plainKey(key)
		}
		if err != nil || seen&bit != 0 {
			return 0, nil, "", false, errSlowPath
		}
		seen |= bit
	}
}

// scanMessage reads a message or delta object (or null) into m, returning
// its raw content.
func (d *chunkDecoder) scanMessage(val []byte, m *wireMessage) (content []byte, err error) {
	switch kind(val) {
	case 'n':
		return nil, nil
	case '{':
	default:
		return nil, errSlowPath
	}
	var seen uint8
	members := jsonbody.ObjectMembers(val)
	for {
		key, v, ok := members.Next()
		if !ok {
			return content, nil
		}
		var bit uint8
		switch string(key) {
		case `"role"`:
			bit = 1
			m.Role, err = d.str(v)
		case `"content"`:
			bit = 2
			content = v
		case `"tool_calls"`:
			bit = 4
			m.ToolCalls = v
		case `"tool_call_id"`:
			bit = 8
			m.ToolCallID, err = d.str(v)
		case `"name"`:
			bit = 16
			m.Name, err = d.str(v)
		case `"reasoning_content"`:
			bit = 32
			m.ReasoningContent, err = d.str(v)
		case `"reasoning"`:
			bit = 64
			m.Reasoning, err = d.str(v)
		default:
			err = plainKey(key)
		}
		if err != nil || seen&bit != 0 {
			return nil, errSlowPath
		}
		seen |= bit
	}
}

// str decodes a JSON string or null.
func (d *chunkDecoder) str(val []byte) (string, error) {
	switch kind(val) {
	case 'n':
		return "", nil
	case '"':
		return d.arena.unquote(val), nil
	}
	return "", errSlowPath
}

// integer decodes a JSON integer or null, as encoding/json decodes an
// int64; a fraction, an exponent or an overflow is left to it.
func integer(val []byte) (int64, error) {
	if kind(val) == 'n' {
		return 0, nil
	}
	neg := len(val) > 0 && val[0] == '-'
	if neg {
		val = val[1:]
	}
	if len(val) == 0 || len(val) > 18 {
		return 0, errSlowPath // 18 digits cannot overflow
	}
	var n int64
	for _, c := range val {
		if c < '0' || c > '9' {
			return 0, errSlowPath
		}
		n = n*10 + int64(c-'0')
	}
	if neg {
		n = -n
	}
	return n, nil
}

// plainKey accepts a key that cannot name a field but by being spelt as
// the field is: lower-case ASCII without escapes. encoding/json matches
// struct fields ignoring case (Unicode's too), so any other key is left
// to it.
func plainKey(key []byte) error {
	for _, c := range key {
		if c == '\\' || c >= 0x80 || 'A' <= c && c <= 'Z' {
			return errSlowPath
		}
	}
	return nil
}

// parseCompletionFast is parseCompletion without encoding/json for an
// answer of the common shape; body must never be modified afterwards, as
// the answer's strings alias it.
func parseCompletionFast(body []byte) (*providers.Response, error) {
	if kind(body) != '{' || !jsonbody.Valid(body) {
		return parseCompletion(body)
	}
	d := chunkDecoder{arena: arena{single: true}}
	out, err := d.scanCompletion(body)
	if err != nil {
		return parseCompletion(body)
	}
	return out, nil
}

// scanCompletion is parseCompletion for valid JSON, or errSlowPath.
func (d *chunkDecoder) scanCompletion(raw []byte) (*providers.Response, error) {
	out := &providers.Response{Raw: raw}
	e, err := d.scanEnvelope(raw)
	if err != nil {
		return nil, err
	}
	out.ID, out.Model, out.Created = e.id, e.model, e.created
	var msg *wireMessage
	var content []byte
	if e.choices != nil {
		if msg, content, out.FinishReason, err = d.scanFirstChoice(e.choices); err != nil {
			return nil, errSlowPath
		}
	}
	usage := e.usage
	if msg == nil {
		return nil, errSlowPath // parseCompletion's error
	}
	if usage != nil && kind(usage) != 'n' {
		if err := scanUsage(usage, &out.Usage); err != nil {
			return nil, errSlowPath
		}
	}
	msg.Content = content
	if kind(content) == 'n' {
		msg.Content = nil
	}
	m, err := parseWireMessage(msg)
	if err != nil {
		return nil, err
	}
	out.Message = m
	return out, nil
}

// scanFirstChoice reads the first choice's message, content and finish
// reason, checking the others' types.
func (d *chunkDecoder) scanFirstChoice(val []byte) (msg *wireMessage, content []byte, finish string, err error) {
	switch kind(val) {
	case 'n':
		return nil, nil, "", nil
	case '[':
	default:
		return nil, nil, "", errSlowPath
	}
	elems := jsonbody.ArrayElements(val)
	for first := true; ; first = false {
		el, ok := elems.Next()
		if !ok {
			return msg, content, finish, nil
		}
		if kind(el) != '{' {
			return nil, nil, "", errSlowPath // null too: rare, left to encoding/json
		}
		var m wireMessage
		_, c, f, has, err := d.scanChoice(el, `"message"`, &m)
		if err != nil {
			return nil, nil, "", err
		}
		if first && has {
			msg, content, finish = &m, c, f
		}
	}
}

// scanUsage reads a usage object as (*providers.Usage).UnmarshalJSON does,
// or reports errSlowPath.
func scanUsage(val []byte, u *providers.Usage) error {
	if kind(val) != '{' {
		return errSlowPath
	}
	var seen uint8
	members := jsonbody.ObjectMembers(val)
	for {
		key, v, ok := members.Next()
		if !ok {
			return nil
		}
		var bit uint8
		var err error
		var n int64
		switch string(key) {
		case `"prompt_tokens"`:
			bit = 1
			n, err = integer(v)
			u.PromptTokens = int(n)
		case `"completion_tokens"`:
			bit = 2
			n, err = integer(v)
			u.CompletionTokens = int(n)
		case `"total_tokens"`:
			bit = 4
			n, err = integer(v)
			u.TotalTokens = int(n)
		case `"prompt_tokens_details"`:
			bit = 8
			n, err = detail(v, `"cached_tokens"`)
			u.CachedTokens = int(n)
		case `"completion_tokens_details"`:
			bit = 16
			n, err = detail(v, `"reasoning_tokens"`)
			u.ReasoningTokens = int(n)
		default:
			err = plainKey(key)
		}
		if err != nil || seen&bit != 0 {
			return errSlowPath
		}
		seen |= bit
	}
}

// detail reads the integer field name (quoted) of a usage details object
// or null.
func detail(val []byte, name string) (int64, error) {
	switch kind(val) {
	case 'n':
		return 0, nil
	case '{':
	default:
		return 0, errSlowPath
	}
	var n int64
	found := false
	members := jsonbody.ObjectMembers(val)
	for {
		key, v, ok := members.Next()
		if !ok {
			return n, nil
		}
		var err error
		if string(key) == name {
			if found {
				return 0, errSlowPath
			}
			found = true
			n, err = integer(v)
		} else {
			err = plainKey(key)
		}
		if err != nil {
			return 0, errSlowPath
		}
	}
}
