"""Client keys through the official Python SDKs: a switchyard with
api_keys answers each SDK's own 401, 403 and 429, which the SDKs raise
as their typed errors."""
import anthropic
import openai
import pytest

from conftest import CLIENT_KEYS, MODELS


def _openai(base, key):
    return openai.OpenAI(base_url=base + "/v1", api_key=key, max_retries=0, timeout=30)


def _anthropic(base, key):
    return anthropic.Anthropic(base_url=base, api_key=key, max_retries=0, timeout=30)


def _chat(client, model=MODELS["openai"]):
    return client.chat.completions.create(model=model, messages=[{"role": "user", "content": "hi"}])


def test_openai_key_accepted(keyed_switchyard):
    with _openai(keyed_switchyard, CLIENT_KEYS["py"]) as c:
        assert _chat(c).choices[0].message.content


@pytest.mark.parametrize("key", ["sk-wrong", CLIENT_KEYS["old"]])
def test_openai_bad_key(keyed_switchyard, key):
    with _openai(keyed_switchyard, key) as c:
        with pytest.raises(openai.AuthenticationError) as e:
            _chat(c)
        assert e.value.status_code == 401


def test_openai_model_not_allowed(keyed_switchyard):
    with _openai(keyed_switchyard, CLIENT_KEYS["py"]) as c:
        with pytest.raises(openai.PermissionDeniedError) as e:
            _chat(c, model="gpt-not-on-the-list")
        assert "may not use model" in str(e.value)


def test_openai_rate_limit(keyed_switchyard):
    with _openai(keyed_switchyard, CLIENT_KEYS["tight"]) as c:
        _chat(c)
        with pytest.raises(openai.RateLimitError) as e:
            _chat(c)
        assert 1 <= int(e.value.response.headers["retry-after"]) <= 120


def test_anthropic_key(keyed_switchyard):
    with _anthropic(keyed_switchyard, CLIENT_KEYS["py"]) as c:
        msg = c.messages.create(model=MODELS["anthropic"], max_tokens=16,
                                messages=[{"role": "user", "content": "hi"}])
        assert msg.content
    with _anthropic(keyed_switchyard, "sk-ant-wrong") as c:
        with pytest.raises(anthropic.AuthenticationError) as e:
            c.messages.create(model=MODELS["anthropic"], max_tokens=16,
                              messages=[{"role": "user", "content": "hi"}])
        assert e.value.status_code == 401
