#!/usr/bin/env python3
"""Drives a running switchyard with the official Python `openai` package.

usage: openai_client.py BASE_URL   (e.g. http://127.0.0.1:8080/v1)

Run by cmd/switchyard's TestPythonOpenAIClient against fake upstreams whose
answers it knows; prints one line per check and exits non-zero on the first
failure.
"""
import sys

import openai

base = sys.argv[1]
client = openai.OpenAI(base_url=base, api_key="unused", max_retries=0)


def check(name, cond, detail=""):
    if not cond:
        print(f"FAIL {name}: {detail}")
        sys.exit(1)
    print(f"ok   {name}")


# Auto-routing, non-streaming; the raw response exposes the routing headers.
raw = client.chat.completions.with_raw_response.create(
    model="auto",
    messages=[{"role": "user", "content": "my Python script crashes with a stack trace, how do I debug it"}],
)
resp = raw.parse()
check("route header", raw.headers.get("x-switchyard-route") == "code", raw.headers)
check("completion text", resp.choices[0].message.content == "from the code model", resp)

# Streaming.
stream = client.chat.completions.create(
    model="auto",
    stream=True,
    messages=[{"role": "user", "content": "tell me a story about a dragon who learns to sing"}],
)
text = "".join((c.choices[0].delta.content or "") for c in stream if c.choices)
check("streamed text", text == "Moonlit waves whisper", text)

# A bad request comes back as the SDK's typed error.
try:
    client.chat.completions.create(model="gpt-9", messages=[{"role": "user", "content": "hi"}])
    check("unknown model", False, "no error raised")
except openai.NotFoundError as e:
    check("unknown model", "gpt-9" in str(e), e)

models = [m.id for m in client.models.list()]
check("models", "auto" in models and "code" in models, models)
print("python openai", openai.__version__, "ok")
