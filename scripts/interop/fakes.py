"""Fake upstreams for the interop suite: one OpenAI chat-completions server
and one Anthropic Messages server, each a real HTTP server on the loopback
interface that answers the way the real API does, streams included.

They are stateless: the conversation decides the answer, so one fake serves
every test.

* The last message carries a tool result: the final answer, FINAL_TEXT.
* The request offers tools: a call of the first tool, its arguments
  TOOL_ARGS (streamed in fragments). The Anthropic fake says a few words
  first (TOOL_PREAMBLE), as Claude does.
* The last message is CUT: a stream that stops after TEXT_CHUNKS[0], as
  an upstream whose connection drops does.
* Otherwise: TEXT.

Every request is recorded (path, headers, parsed body) for assertions.
"""
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

TEXT = "Hello from the fake upstream."
TEXT_CHUNKS = ["Hello ", "from the ", "fake upstream."]
FINAL_TEXT = "It is 18 degrees and sunny in Paris."
FINAL_CHUNKS = ["It is 18 degrees ", "and sunny ", "in Paris."]
TOOL_PREAMBLE = "Let me check the weather."
TOOL_ARGS = {"city": "Paris", "unit": "celsius"}
# The arguments' JSON, cut where no JSON tokenizer would cut it.
TOOL_ARG_FRAGMENTS = ['{"city"', ': "Par', 'is", "unit": "cel', 'sius"}']
OPENAI_CALL_ID = "call_fake_weather_1"
ANTHROPIC_CALL_ID = "toolu_fake_weather_1"
CREATED = 1700000000
CUT = "CUT"


class Fake:
    """A running fake upstream. Safe for use from the test thread while the
    server threads record requests."""

    dialect = ""

    def __init__(self):
        self.requests = []  # [{"path", "headers", "body"}], in order
        self._lock = threading.Lock()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):  # quiet
                pass

            def do_GET(self):
                fake._get(self)

            def do_POST(self):
                n = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(n)
                try:
                    body = json.loads(raw)
                except ValueError:
                    fake._json(self, 400, {"error": {"message": "fake: body is not JSON"}})
                    return
                with fake._lock:
                    fake.requests.append({"path": self.path, "headers": dict(self.headers), "body": body})
                fake._post(self, body)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = "http://127.0.0.1:%d" % self.server.server_address[1]
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()

    @property
    def last(self):
        with self._lock:
            return self.requests[-1] if self.requests else None

    def count(self):
        with self._lock:
            return len(self.requests)

    def _get(self, h):
        self._json(h, 404, {"error": {"message": "fake: no route GET " + h.path}})

    # helpers

    @staticmethod
    def _json(h, status, obj):
        data = json.dumps(obj).encode()
        h.send_response(status)
        h.send_header("Content-Type", "application/json")
        h.send_header("Content-Length", str(len(data)))
        h.end_headers()
        h.wfile.write(data)

    @staticmethod
    def _start_sse(h):
        h.send_response(200)
        h.send_header("Content-Type", "text/event-stream")
        h.send_header("Cache-Control", "no-cache")
        h.send_header("Connection", "close")
        h.end_headers()
        h.close_connection = True

    @staticmethod
    def _sse(h, data, event=None):
        out = ""
        if event:
            out += "event: %s\n" % event
        out += "data: %s\n\n" % (data if isinstance(data, str) else json.dumps(data))
        h.wfile.write(out.encode())
        h.wfile.flush()


def _decide(has_tool_result, tools, last_text=""):
    if last_text == CUT:
        return "cut", None
    if has_tool_result:
        return "final", None
    if tools:
        return "tool", tools[0]
    return "text", None


class OpenAIFake(Fake):
    """POST …/chat/completions, GET …/models."""

    dialect = "openai"

    def _get(self, h):
        if h.path.rstrip("/").endswith("/models"):
            self._json(h, 200, {"object": "list", "data": [
                {"id": "gpt-fake", "object": "model", "created": CREATED, "owned_by": "fake"}]})
            return
        super()._get(h)

    def _post(self, h, body):
        if not h.path.rstrip("/").endswith("/chat/completions"):
            self._json(h, 404, {"error": {"message": "fake: no route POST " + h.path,
                                          "type": "invalid_request_error", "param": None, "code": None}})
            return
        msgs = body.get("messages") or []
        last_text = msgs[-1].get("content") if msgs else ""
        kind, tool = _decide(bool(msgs) and msgs[-1].get("role") == "tool", body.get("tools"), last_text)
        model = body.get("model", "")
        name = tool["function"]["name"] if tool else ""
        if body.get("stream"):
            usage = (body.get("stream_options") or {}).get("include_usage")
            self._stream(h, kind, name, model, usage)
            return
        msg = {"role": "assistant", "content": None, "refusal": None, "annotations": []}
        finish = "stop"
        if kind == "tool":
            msg["tool_calls"] = [{"id": OPENAI_CALL_ID, "type": "function",
                                  "function": {"name": name, "arguments": json.dumps(TOOL_ARGS)}}]
            finish = "tool_calls"
        else:
            msg["content"] = FINAL_TEXT if kind == "final" else TEXT
        self._json(h, 200, {
            "id": "chatcmpl-fake", "object": "chat.completion", "created": CREATED, "model": model,
            "choices": [{"index": 0, "message": msg, "logprobs": None, "finish_reason": finish}],
            "usage": {"prompt_tokens": 12, "completion_tokens": 7, "total_tokens": 19},
            "system_fingerprint": "fp_fake",
        })

    def _stream(self, h, kind, name, model, usage):
        self._start_sse(h)

        def chunk(delta, finish=None, **extra):
            c = {"id": "chatcmpl-fake", "object": "chat.completion.chunk", "created": CREATED,
                 "model": model, "system_fingerprint": "fp_fake",
                 "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}]}
            c.update(extra)
            self._sse(h, c)

        if kind == "tool":
            chunk({"role": "assistant", "content": None, "tool_calls": [
                {"index": 0, "id": OPENAI_CALL_ID, "type": "function",
                 "function": {"name": name, "arguments": ""}}]})
            for frag in TOOL_ARG_FRAGMENTS:
                chunk({"tool_calls": [{"index": 0, "function": {"arguments": frag}}]})
            chunk({}, "tool_calls")
        else:
            chunk({"role": "assistant", "content": "", "refusal": None})
            if kind == "cut":
                chunk({"content": TEXT_CHUNKS[0]})
                return
            for c in (FINAL_CHUNKS if kind == "final" else TEXT_CHUNKS):
                chunk({"content": c})
            chunk({}, "stop")
        if usage:
            self._sse(h, {"id": "chatcmpl-fake", "object": "chat.completion.chunk", "created": CREATED,
                          "model": model, "system_fingerprint": "fp_fake", "choices": [],
                          "usage": {"prompt_tokens": 12, "completion_tokens": 7, "total_tokens": 19}})
        self._sse(h, "[DONE]")


class AnthropicFake(Fake):
    """POST …/messages (and …/messages/count_tokens)."""

    dialect = "anthropic"

    def _post(self, h, body):
        path = h.path.split("?")[0].rstrip("/")
        if path.endswith("/messages/count_tokens"):
            self._json(h, 200, {"input_tokens": 12})
            return
        if not path.endswith("/messages"):
            self._json(h, 404, {"type": "error", "error": {"type": "not_found_error",
                                                          "message": "fake: no route POST " + h.path}})
            return
        msgs = body.get("messages") or []
        last = msgs[-1] if msgs else {}
        content = last.get("content")
        has_result = last.get("role") == "user" and isinstance(content, list) and any(
            b.get("type") == "tool_result" for b in content)
        kind, tool = _decide(has_result, body.get("tools"), content)
        model = body.get("model", "")
        name = tool["name"] if tool else ""
        usage = {"input_tokens": 12, "output_tokens": 7, "cache_creation_input_tokens": 0,
                 "cache_read_input_tokens": 0, "service_tier": "standard"}
        if not body.get("stream"):
            if kind == "tool":
                blocks = [{"type": "text", "text": TOOL_PREAMBLE},
                          {"type": "tool_use", "id": ANTHROPIC_CALL_ID, "name": name, "input": TOOL_ARGS}]
                stop = "tool_use"
            else:
                blocks = [{"type": "text", "text": FINAL_TEXT if kind == "final" else TEXT}]
                stop = "end_turn"
            self._json(h, 200, {"id": "msg_fake", "type": "message", "role": "assistant", "model": model,
                                "content": blocks, "stop_reason": stop, "stop_sequence": None,
                                "usage": usage})
            return
        self._start_sse(h)

        def ev(name, data):
            data["type"] = name
            self._sse(h, data, event=name)

        start_usage = dict(usage, output_tokens=1)
        ev("message_start", {"message": {"id": "msg_fake", "type": "message", "role": "assistant",
                                         "model": model, "content": [], "stop_reason": None,
                                         "stop_sequence": None, "usage": start_usage}})

        def text_block(index, parts):
            ev("content_block_start", {"index": index, "content_block": {"type": "text", "text": ""}})
            if index == 0:
                ev("ping", {})
            for p in parts:
                ev("content_block_delta", {"index": index, "delta": {"type": "text_delta", "text": p}})
            ev("content_block_stop", {"index": index})

        if kind == "cut":
            ev("content_block_start", {"index": 0, "content_block": {"type": "text", "text": ""}})
            ev("content_block_delta", {"index": 0, "delta": {"type": "text_delta", "text": TEXT_CHUNKS[0]}})
            return
        if kind == "tool":
            text_block(0, [TOOL_PREAMBLE])
            ev("content_block_start", {"index": 1, "content_block": {
                "type": "tool_use", "id": ANTHROPIC_CALL_ID, "name": name, "input": {}}})
            for frag in TOOL_ARG_FRAGMENTS:
                ev("content_block_delta", {"index": 1, "delta": {"type": "input_json_delta",
                                                                 "partial_json": frag}})
            ev("content_block_stop", {"index": 1})
            stop = "tool_use"
        else:
            text_block(0, FINAL_CHUNKS if kind == "final" else TEXT_CHUNKS)
            stop = "end_turn"
        ev("message_delta", {"delta": {"stop_reason": stop, "stop_sequence": None},
                             "usage": {"output_tokens": 7}})
        ev("message_stop", {})
