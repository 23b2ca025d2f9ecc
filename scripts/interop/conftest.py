"""Fixtures of the interop suite: fake upstreams of both dialects, the real
switchyard binary in front of them, and SDK clients pointed at it.

Run by scripts/test.sh, which builds the binary and names it in
SWITCHYARD_BIN:

    SWITCHYARD_BIN=bin/switchyard python -m pytest -q scripts/interop
"""
import logging
import os
import socket
import subprocess
import time
import urllib.request

import anthropic
import openai
import pytest

import fakes

# Aliases of the config below: the upstream dialect a test targets -> the
# model name a client asks for.
MODELS = {"openai": "oa", "anthropic": "an"}
API_KEYS = {"openai": "sk-fake-openai", "anthropic": "sk-ant-fake"}

CONFIG = """\
listen: 127.0.0.1:{port}
log: {{level: warn}}
providers:
  - {{name: ofake, kind: openai, base_url: "{openai}", api_key_env: INTEROP_OPENAI_KEY}}
  - {{name: afake, kind: anthropic, base_url: "{anthropic}", api_key_env: INTEROP_ANTHROPIC_KEY}}
aliases:
  oa: [{{provider: ofake, model: gpt-fake}}]
  an: [{{provider: afake, model: claude-fake}}]
"""


@pytest.fixture(scope="session")
def upstreams():
    """The running fakes, by dialect."""
    out = {"openai": fakes.OpenAIFake(), "anthropic": fakes.AnthropicFake()}
    yield out
    for f in out.values():
        f.close()


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def switchyard(upstreams, tmp_path_factory):
    """The base URL (no path) of a switchyard serving the fakes."""
    yield from _serve(upstreams, tmp_path_factory, "", {})


# Client keys of the keyed server (test_keys.py).
CLIENT_KEYS = {"py": "sk-py-client", "tight": "sk-py-tight", "old": "sk-py-old"}

KEYED_CONFIG = """\
api_keys:
  - {name: py, key_env: INTEROP_KEY_PY, models: [oa, an]}
  - {name: tight, key_env: INTEROP_KEY_TIGHT, requests_per_minute: 1}
  - {name: old, key_env: INTEROP_KEY_OLD, expires: "2020-01-01T00:00:00Z"}
"""


@pytest.fixture(scope="session")
def keyed_switchyard(upstreams, tmp_path_factory):
    """A switchyard like the one above that needs client keys."""
    env = {"INTEROP_KEY_PY": CLIENT_KEYS["py"], "INTEROP_KEY_TIGHT": CLIENT_KEYS["tight"],
           "INTEROP_KEY_OLD": CLIENT_KEYS["old"]}
    yield from _serve(upstreams, tmp_path_factory, KEYED_CONFIG, env)


def _serve(upstreams, tmp_path_factory, extra_config, extra_env):
    binary = os.environ.get("SWITCHYARD_BIN")
    if not binary:
        pytest.fail("SWITCHYARD_BIN is not set; run the suite with bash scripts/test.sh")
    work = tmp_path_factory.mktemp("switchyard")
    port = _free_port()
    cfg = work / "config.yaml"
    cfg.write_text(CONFIG.format(port=port, openai=upstreams["openai"].url,
                                 anthropic=upstreams["anthropic"].url) + extra_config)
    # The user's SWITCHYARD_* settings would override the config.
    env = {k: v for k, v in os.environ.items() if not k.startswith("SWITCHYARD_")}
    env.update(INTEROP_OPENAI_KEY=API_KEYS["openai"],
               INTEROP_ANTHROPIC_KEY=API_KEYS["anthropic"],
               XDG_CONFIG_HOME=str(work), XDG_CACHE_HOME=str(work), XDG_DATA_HOME=str(work))
    env.update(extra_env)
    with open(work / "switchyard.log", "w+b") as log:
        proc = subprocess.Popen([binary, "serve", "--config", str(cfg)], stdout=log, stderr=log, env=env)
        try:
            base = "http://127.0.0.1:%d" % port
            _wait_healthy(proc, base, log)
            yield base
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        log.seek(0)
        out = log.read().decode(errors="replace")
    if out.strip():
        # What the server logged at warn level or above while serving the
        # suite; shown with the results of failed tests (-rA shows all).
        print("switchyard log:\n" + out)


def _wait_healthy(proc, base, log):
    deadline = time.monotonic() + 30
    while True:
        try:
            with urllib.request.urlopen(base + "/health", timeout=1) as r:
                if r.status == 200:
                    return
        except OSError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            log.seek(0)
            pytest.fail("switchyard did not come up:\n" + log.read().decode(errors="replace"))
        time.sleep(0.05)

@pytest.fixture
def openai_client(switchyard):
    # Strict validation: every response and stream event is checked against
    # the SDK's pydantic models, so a missing or mistyped field fails.
    with openai.OpenAI(base_url=switchyard + "/v1", api_key="sk-client", max_retries=0,
                       timeout=30, _strict_response_validation=True) as c:
        yield c


@pytest.fixture
def anthropic_client(switchyard):
    with anthropic.Anthropic(base_url=switchyard, api_key="sk-client", max_retries=0,
                             timeout=30, _strict_response_validation=True) as c:
        yield c


@pytest.fixture(autouse=True)
def no_sdk_warnings(caplog):
    """Fails a test during which an SDK (or its HTTP client) logged a
    warning: "the clients must parse everything without errors or
    warnings". Python warnings are errors already (pytest.ini)."""
    caplog.set_level(logging.WARNING)
    yield
    noisy = [r for r in caplog.get_records("call")
             if r.levelno >= logging.WARNING and r.name.split(".")[0] in ("openai", "anthropic", "httpx", "httpcore")]
    assert not noisy, "SDK logged: " + "; ".join(f"{r.name}: {r.getMessage()}" for r in noisy)
