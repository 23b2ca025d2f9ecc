"""The official Python SDKs against switchyard, as a user would run them.

Each client (openai, anthropic) talks to switchyard in its own dialect, in
front of a fake upstream of the same dialect and of the other one, streamed
and not: a plain answer, and a tool-use round trip (the model calls a tool,
the client sends the result with the call's id, the model answers). The
clients validate every response strictly (conftest.py), Python warnings are
errors (pytest.ini), and an SDK log line of level WARNING fails the test.
"""
import json

import anthropic
import openai
import pytest
from openai.lib.streaming.chat import ChatCompletionStreamState

import fakes
from conftest import MODELS

UPSTREAMS = ["openai", "anthropic"]
STREAM = [pytest.param(False, id="complete"), pytest.param(True, id="stream")]

QUESTION = "What is the weather in Paris right now?"
SCHEMA = {
    "type": "object",
    "properties": {
        "city": {"type": "string", "description": "City name"},
        "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
    },
    "required": ["city"],
}
RESULT = json.dumps({"temperature": 18, "unit": "celsius", "sky": "sunny"})
CALL_IDS = {"openai": fakes.OPENAI_CALL_ID, "anthropic": fakes.ANTHROPIC_CALL_ID}


# ---------------------------------------------------------------- openai


def openai_complete(client, stream, **params):
    """One chat completion, streamed (accumulated with the SDK's own
    ChatCompletionStreamState) or not; returns the ChatCompletion."""
    if not stream:
        return client.chat.completions.create(**params)
    state = ChatCompletionStreamState()
    chunks = 0
    with client.chat.completions.create(stream=True, stream_options={"include_usage": True}, **params) as s:
        for chunk in s:
            assert chunk.object == "chat.completion.chunk"
            state.handle_chunk(chunk)
            chunks += 1
    assert chunks >= 2, "the stream was not relayed chunk by chunk"
    return state.get_final_completion()


@pytest.mark.parametrize("stream", STREAM)
@pytest.mark.parametrize("upstream", UPSTREAMS)
def test_openai_text(openai_client, upstreams, upstream, stream):
    before = upstreams[upstream].count()
    c = openai_complete(openai_client, stream, model=MODELS[upstream],
                        messages=[{"role": "user", "content": "Say hello."}])
    assert c.choices[0].message.content == fakes.TEXT
    assert c.choices[0].finish_reason == "stop"
    assert upstreams[upstream].count() == before + 1


@pytest.mark.parametrize("stream", STREAM)
@pytest.mark.parametrize("upstream", UPSTREAMS)
def test_openai_tool_round_trip(openai_client, upstreams, upstream, stream):
    fake = upstreams[upstream]
    model = MODELS[upstream]
    tools = [{"type": "function", "function": {
        "name": "get_weather", "description": "Current weather in a city", "parameters": SCHEMA}}]
    messages = [{"role": "user", "content": QUESTION}]

    first = openai_complete(openai_client, stream, model=model, messages=messages, tools=tools)
    choice = first.choices[0]
    assert choice.finish_reason == "tool_calls"
    calls = choice.message.tool_calls
    assert calls and len(calls) == 1, choice.message
    call = calls[0]
    assert call.type == "function"
    assert call.id == CALL_IDS[upstream]
    assert call.function.name == "get_weather"
    assert json.loads(call.function.arguments) == fakes.TOOL_ARGS
    if upstream == "anthropic":
        # Claude's words before the call are the message's content.
        assert choice.message.content == fakes.TOOL_PREAMBLE

    messages.append({"role": "assistant", "content": choice.message.content, "tool_calls": [
        {"id": call.id, "type": "function",
         "function": {"name": call.function.name, "arguments": call.function.arguments}}]})
    messages.append({"role": "tool", "tool_call_id": call.id, "content": RESULT})
    final = openai_complete(openai_client, stream, model=model, messages=messages, tools=tools)
    assert final.choices[0].message.content == fakes.FINAL_TEXT
    assert final.choices[0].finish_reason == "stop"

    check_upstream_got_result(fake, call.id)


# ------------------------------------------------------------- anthropic


def anthropic_message(client, stream, **params):
    """One Messages call, streamed (accumulated with the SDK's own
    MessageStream) or not; returns the Message."""
    params.setdefault("max_tokens", 256)
    if not stream:
        return client.messages.create(**params)
    events = []
    with client.messages.stream(**params) as s:
        for ev in s:
            events.append(ev.type)
        msg = s.get_final_message()
    assert events[0] == "message_start" and events[-1] == "message_stop", events
    assert "content_block_delta" in events or "text" in events, events
    return msg


def anthropic_text(msg):
    return "".join(b.text for b in msg.content if b.type == "text")


@pytest.mark.parametrize("stream", STREAM)
@pytest.mark.parametrize("upstream", UPSTREAMS)
def test_anthropic_text(anthropic_client, upstreams, upstream, stream):
    before = upstreams[upstream].count()
    m = anthropic_message(anthropic_client, stream, model=MODELS[upstream],
                          messages=[{"role": "user", "content": "Say hello."}])
    assert m.type == "message" and m.role == "assistant"
    assert anthropic_text(m) == fakes.TEXT
    assert m.stop_reason == "end_turn"
    assert m.usage.output_tokens > 0
    assert upstreams[upstream].count() == before + 1


@pytest.mark.parametrize("stream", STREAM)
@pytest.mark.parametrize("upstream", UPSTREAMS)
def test_anthropic_tool_round_trip(anthropic_client, upstreams, upstream, stream):
    fake = upstreams[upstream]
    model = MODELS[upstream]
    tools = [{"name": "get_weather", "description": "Current weather in a city", "input_schema": SCHEMA}]
    messages = [{"role": "user", "content": QUESTION}]

    first = anthropic_message(anthropic_client, stream, model=model, messages=messages, tools=tools)
    assert first.stop_reason == "tool_use"
    uses = [b for b in first.content if b.type == "tool_use"]
    assert len(uses) == 1, first.content
    use = uses[0]
    assert use.id == CALL_IDS[upstream]
    assert use.name == "get_weather"
    assert use.input == fakes.TOOL_ARGS
    if upstream == "anthropic":
        assert anthropic_text(first) == fakes.TOOL_PREAMBLE

    messages.append({"role": "assistant", "content": first.content})
    messages.append({"role": "user", "content": [
        {"type": "tool_result", "tool_use_id": use.id, "content": RESULT}]})
    final = anthropic_message(anthropic_client, stream, model=model, messages=messages, tools=tools)
    assert anthropic_text(final) == fakes.FINAL_TEXT
    assert final.stop_reason == "end_turn"

    check_upstream_got_result(fake, use.id)


# ----------------------------------------------------------------- both


def result_text(content):
    """A tool result's content as text: a string, or text blocks."""
    if isinstance(content, str):
        return content
    return "".join(b.get("text", "") for b in content)


def check_upstream_got_result(fake, call_id):
    """The upstream received the call and its result in its own dialect,
    under the same id."""
    msgs = fake.last["body"]["messages"]
    if fake.dialect == "openai":
        result, call = msgs[-1], msgs[-2]
        assert result["role"] == "tool", msgs
        assert result["tool_call_id"] == call_id
        assert result_text(result["content"]) == RESULT
        assert call["role"] == "assistant", msgs
        tc = call["tool_calls"]
        assert [t["id"] for t in tc] == [call_id]
        assert tc[0]["type"] == "function" and tc[0]["function"]["name"] == "get_weather"
        assert json.loads(tc[0]["function"]["arguments"]) == fakes.TOOL_ARGS
    else:
        result, call = msgs[-1], msgs[-2]
        assert result["role"] == "user", msgs
        blocks = [b for b in result["content"] if b.get("type") == "tool_result"]
        assert [b["tool_use_id"] for b in blocks] == [call_id], result
        assert result_text(blocks[0]["content"]) == RESULT
        assert call["role"] == "assistant", msgs
        uses = [b for b in call["content"] if b.get("type") == "tool_use"]
        assert [(u["id"], u["name"], u["input"]) for u in uses] == [(call_id, "get_weather", fakes.TOOL_ARGS)]


@pytest.mark.parametrize("upstream", UPSTREAMS)
def test_openai_cut_stream(openai_client, upstream):
    """An upstream stream cut after its first chunk ends the client's
    stream with an error the SDK raises, not a silent truncation."""
    text = ""
    with pytest.raises(openai.APIError):
        with openai_client.chat.completions.create(model=MODELS[upstream], stream=True,
                                                   messages=[{"role": "user", "content": fakes.CUT}]) as s:
            for chunk in s:
                text += "".join(c.delta.content or "" for c in chunk.choices)
    assert text == fakes.TEXT_CHUNKS[0]


@pytest.mark.parametrize("upstream", UPSTREAMS)
def test_anthropic_cut_stream(anthropic_client, upstream):
    text = ""
    with pytest.raises(anthropic.APIStatusError) as e:
        with anthropic_client.messages.stream(model=MODELS[upstream], max_tokens=64,
                                              messages=[{"role": "user", "content": fakes.CUT}]) as s:
            for t in s.text_stream:
                text += t
    assert e.value.body["type"] == "error" and e.value.body["error"]["type"], e.value.body
    assert text == fakes.TEXT_CHUNKS[0]


def test_openai_unknown_model(openai_client):
    with pytest.raises(openai.NotFoundError) as e:
        openai_client.chat.completions.create(model="no-such-model",
                                              messages=[{"role": "user", "content": "hi"}])
    assert e.value.status_code == 404


def test_anthropic_unknown_model(anthropic_client):
    with pytest.raises(anthropic.NotFoundError) as e:
        anthropic_client.messages.create(model="no-such-model", max_tokens=16,
                                         messages=[{"role": "user", "content": "hi"}])
    assert e.value.status_code == 404
    # Anthropic's error envelope: {"type": "error", "error": {"type", "message"}}.
    assert e.value.body["type"] == "error"
    assert e.value.body["error"]["type"] == "not_found_error"


def test_anthropic_bad_request(anthropic_client):
    # A conversation needs at least one message.
    with pytest.raises(anthropic.BadRequestError) as e:
        anthropic_client.messages.create(model="an", max_tokens=16, messages=[])
    assert e.value.status_code == 400
    assert e.value.body["error"]["type"] == "invalid_request_error"


def test_anthropic_prefixed_path(switchyard, upstreams):
    """/anthropic/v1/messages serves the same API, for clients whose base
    URL must carry a path."""
    with anthropic.Anthropic(base_url=switchyard + "/anthropic", api_key="sk-client", max_retries=0,
                             _strict_response_validation=True) as c:
        m = c.messages.create(model="an", max_tokens=64, messages=[{"role": "user", "content": "Say hello."}])
    assert anthropic_text(m) == fakes.TEXT


def test_anthropic_upstream_gets_its_headers(anthropic_client, upstreams):
    """switchyard authenticates to an Anthropic upstream as the API expects:
    x-api-key from the provider's key and an anthropic-version."""
    anthropic_client.messages.create(model="an", max_tokens=64, messages=[{"role": "user", "content": "Say hello."}])
    h = {k.lower(): v for k, v in upstreams["anthropic"].last["headers"].items()}
    assert h.get("x-api-key") == "sk-ant-fake"
    assert h.get("anthropic-version")


@pytest.mark.parametrize("upstream", UPSTREAMS)
def test_anthropic_count_tokens(anthropic_client, upstream):
    r = anthropic_client.messages.count_tokens(model=MODELS[upstream],
                                               messages=[{"role": "user", "content": "Say hello."}])
    assert r.input_tokens > 0
