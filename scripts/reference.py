#!/usr/bin/env python3
"""Record what sentence-transformers does with all-MiniLM-L6-v2, for Go tests.

Writes testdata/embed/reference.json: for each input below, the token ids
exactly as sentence-transformers produces them (truncated to the model's
max_seq_length, 256, including [CLS] and [SEP]) and the sentence embedding
from SentenceTransformer.encode (unit length: the model ends in Normalize).
The header records the library versions and the SHA-256 of every model file,
so a changed reference can be traced to its cause.

The file is generated once and committed; Go tests never need Python. Run it
again only when the inputs or the model change:

    HF_HUB_OFFLINE=1 /opt/stref/bin/python scripts/reference.py [MODEL_DIR]

MODEL_DIR defaults to $SWITCHYARD_MODEL_DIR, else
$XDG_CACHE_HOME/switchyard/models/all-MiniLM-L6-v2 (XDG_CACHE_HOME defaulting
to ~/.cache), the same lookup the Go tests use. Nothing is downloaded.
"""

import argparse
import hashlib
import json
import os
import platform
import sys
import unicodedata
from pathlib import Path

# Never reach for the network: the model directory is complete on its own.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

REPO = Path(__file__).resolve().parent.parent
DEFAULT_OUT = REPO / "testdata" / "embed" / "reference.json"


def default_model_dir() -> Path:
    if d := os.environ.get("SWITCHYARD_MODEL_DIR"):
        return Path(d)
    cache = os.environ.get("XDG_CACHE_HOME") or os.path.join(Path.home(), ".cache")
    return Path(cache) / "switchyard" / "models" / "all-MiniLM-L6-v2"


# A prose paragraph long enough to pass 256 tokens on its own.
_LONG_PROSE = (
    "The router receives a request, looks at the last user message, and decides which model should answer it. "
    "Cheap questions go to a small local model; hard reasoning, long documents and code reviews go to a larger "
    "hosted one. To decide, it embeds the message and compares it with a handful of example utterances for each "
    "route, picking the closest route if the similarity clears a threshold and falling back to a default otherwise. "
    "Because this happens on every request, the embedding has to be fast, deterministic and identical to what the "
    "reference implementation produces, or the thresholds tuned offline stop meaning anything in production. "
    "That is why the tokenizer is tested against recorded ids, why the forward pass is tested against recorded "
    "vectors, and why both records come from the same pinned model files. When a provider fails, the chain retries "
    "with backoff and then fails over to the next target, but never after the first streamed chunk has been sent, "
    "since the client would otherwise see duplicated text. Configuration reloads swap an immutable snapshot, so a "
    "request in flight always sees one consistent set of routes, thresholds and providers from start to finish. "
    "Operators can pin a model per request, inspect the chosen route in a response header, and replay traffic "
    "against a new configuration before rolling it out."
)

_LONG_GO = '''package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"
)

// retry calls fn until it succeeds, the context ends, or attempts run out.
func retry(ctx context.Context, attempts int, backoff time.Duration, fn func(context.Context) error) error {
	var err error
	for i := 0; i < attempts; i++ {
		if err = fn(ctx); err == nil {
			return nil
		}
		t := time.NewTimer(backoff << i)
		select {
		case <-ctx.Done():
			t.Stop()
			return errors.Join(err, ctx.Err())
		case <-t.C:
		}
	}
	return fmt.Errorf("after %d attempts: %w", attempts, err)
}

func main() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := retry(ctx, 3, 100*time.Millisecond, func(ctx context.Context) error {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://localhost:8080/health", nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("status %d", resp.StatusCode)
		}
		return nil
	})
	fmt.Println("done:", err)
}
'''

_STACK_TRACE = '''Traceback (most recent call last):
  File "/srv/app/worker.py", line 88, in <module>
    main(sys.argv[1:])
  File "/srv/app/worker.py", line 61, in main
    result = process(batch, retries=3)
  File "/srv/app/pipeline.py", line 142, in process
    return json.loads(payload)["items"][0]
KeyError: 'items'
'''

_GO_PANIC = '''panic: runtime error: index out of range [3] with length 3

goroutine 1 [running]:
main.lookup(...)
	/home/dev/switchyard/cmd/demo/main.go:17
main.main()
	/home/dev/switchyard/cmd/demo/main.go:9 +0x1d
exit status 2'''

# Each input is (name, text). Names identify failures in Go tests.
INPUTS = [
    # Empty and whitespace-only input still yields [CLS] [SEP].
    ("empty", ""),
    ("space", " "),
    ("whitespace-only", " \t\n\r  \u00a0\u3000\u2003 "),
    # Typical router prompts.
    ("prompt-python", "Write a Python function that checks whether a string is a palindrome."),
    ("prompt-translate", "Translate this to French: the meeting has been moved to Thursday afternoon."),
    ("prompt-arith", "what's 17*23?"),
    ("prompt-summarise", "Summarize the following article in three bullet points, focusing on the financial impact."),
    ("prompt-explain", "Can you explain how TCP congestion control works, like I'm five?"),
    ("prompt-debug", "My Go program deadlocks when I close the channel twice — why, and how do I fix it?"),
    ("prompt-sql", "Write a SQL query that returns the top 5 customers by total order value in 2023."),
    ("prompt-email", "Draft a polite email declining the invitation; keep it under 100 words."),
    ("prompt-haiku", "Compose a haiku about autumn rain on a tin roof."),
    ("prompt-math", "Prove that the square root of 2 is irrational."),
    ("prompt-regex", r"Give me a regex that matches ISO-8601 dates like 2024-02-29T13:45:00Z."),
    ("greeting", "hi"),
    ("mixed-case", "HeLLo WoRLD, this Is MiXeD CaSe; iPhone macOS JavaScript McDonald's"),
    # Around 16, 32, 64 and 128 tokens (including [CLS] and [SEP]).
    ("len-16", "Please route this short request to the cheapest model that answers it."),
    ("len-32", "I need a quick summary of the attached quarterly report, with the main risks, the revenue trend, and any changes to guidance compared with last year."),
    ("len-64", "Our customer support team receives thousands of tickets every week. Some are simple password resets, others are billing disputes, and a few are detailed bug reports with logs attached. Could you suggest a triage scheme that routes each ticket to the right queue automatically, and explain how we should measure whether it is working?"),
    ("len-128", "Imagine you are designing a small service that sits between an application and several large language model providers. "
     "It should accept requests in the OpenAI chat format, decide which provider and model to use based on the content of the prompt, "
     "forward the request, and stream the answer back. It must handle provider outages gracefully, retrying transient errors and failing "
     "over to a backup, but it must never send duplicated text to the client. Describe the main components, the data that flows between "
     "them, and the tests you would write first, keeping the design as simple as possible. Mention the metrics you would export too."),
    # Longer than 256 tokens: truncation.
    ("long-prose", _LONG_PROSE),
    ("long-prose-twice", _LONG_PROSE + " " + _LONG_PROSE.upper()),
    ("long-go", _LONG_GO),
    ("long-cjk", "路由器根据用户的问题选择最合适的模型。" * 20),
    ("long-punct", "!?" * 200),
    ("long-emoji", "😀 🚀 " * 150),
    ("exactly-256", "go " * 254),
    ("one-over-256", "go " * 254 + "stop"),
    # Punctuation.
    ("punct-runs", "Wait... what?!?! No -- really??? (yes) [no] {maybe} <ok> ~~~ ### $$$ %%% ^^^ &&& *** ___ +++ === |||"),
    ("punct-ascii-all", "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~"),
    ("punct-unicode", "«Bonjour» „Hallo“ “quotes” ‘single’ – en — em … ellipsis ¿qué? ¡sí! 『括弧』「かぎ」、。・"),
    ("symbols", "© ® ™ ° ± × ÷ § ¶ € £ ¥ ¢ ∞ ≈ ≠ ≤ ≥ → ← ↔ ✓ ✗ ★ ♥"),
    # Accents and Latin extras.
    ("accents", "café naïve résumé Ångström Ørsted façade jalapeño crème brûlée Zürich São Paulo Kraków"),
    ("accents-upper", "CAFÉ NAÏVE ÅNGSTRÖM ØRSTED ÉCOLE ÜBER"),
    ("german-sharp-s", "Die Straße ist groß, aber STRASSE und ẞ sind auch möglich."),
    ("turkish-i", "İstanbul ISTANBUL istanbul ıstanbul Iğdır DİYARBAKIR kılıç"),
    ("combining-marks", "e\u0301 a\u0308 o\u0302 n\u0303 c\u0327 Z\u0335\u0336a\u0336l\u0334g\u0337o\u0338 \u0301leading-mark"),
    ("decomposed-vs-composed", "\u00e9 e\u0301 \u00c5 A\u030a \u212b \u2126 \u1e9b\u0323"),
    ("ligatures-fullwidth", "ﬁnance ﬂow Ｆｕｌｌｗｉｄｔｈ ＡＢＣ １２３ ｶﾀｶﾅ ½ ² ℌ"),
    # CJK and other scripts.
    ("chinese", "我想把这段文字翻译成英文，并保持原来的语气。"),
    ("japanese", "東京で美味しいラーメンを食べたいです。おすすめはありますか？"),
    ("korean", "안녕하세요, 이 문장을 영어로 번역해 주세요. 한국어는 CJK 범위가 아닙니다."),
    ("cjk-mixed-latin", "使用Python写一个函数sort_list，然后用Go重写。"),
    ("cjk-extension", "\u3400\u4dbf \U00020000\U0002a6df \U0002b820\U0002b920 \uf900\ufa6a \U0002f800"),
    ("arabic", "مرحبا، كيف يمكنني مساعدتك اليوم؟ أريد ترجمة هذا النص."),
    ("hebrew", "שלום, מה שלומך? אני רוצה לתרגם את המשפט הזה."),
    ("cyrillic", "Привет! Переведи, пожалуйста, этот текст на английский. ЁЛКА ёлка"),
    ("greek", "Καλημέρα! Ποιο είναι το νόημα της ζωής; ΣΟΦΙΑ σοφία ς"),
    ("devanagari", "नमस्ते, क्या आप इस वाक्य का अनुवाद कर सकते हैं? हिन्दी"),
    ("thai", "สวัสดีครับ ช่วยแปลประโยคนี้เป็นภาษาอังกฤษหน่อย"),
    ("vietnamese", "Tiếng Việt có nhiều dấu: ằ ẩ ẫ ậ ệ ỗ ữ ự"),
    # Emoji.
    ("emoji", "I love this 😍🔥👍 so much!!! 🎉"),
    ("emoji-zwj", "family 👨\u200d👩\u200d👧\u200d👦 rainbow flag 🏳️\u200d🌈 skin tones 👋🏽 👍🏿 flags 🇫🇷🇯🇵 keycap 1️⃣"),
    ("emoji-new", "newer emoji 🥺 🫠 🫶 🪿 next to old ones ☺ ♻"),
    # Code.
    ("code-python", "def fib(n: int) -> int:\n    return n if n < 2 else fib(n - 1) + fib(n - 2)\n\nprint([fib(i) for i in range(10)])"),
    ("code-sql", "SELECT c.name, SUM(o.total) AS spend FROM customers c JOIN orders o ON o.customer_id = c.id WHERE o.created_at >= '2023-01-01' GROUP BY c.name ORDER BY spend DESC LIMIT 5;"),
    ("code-json", '{"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}], "stream": true, "temperature": 0.2, "max_tokens": null}'),
    ("code-shell", "curl -sS -X POST https://api.example.com/v1/chat/completions -H 'Content-Type: application/json' -d @body.json | jq '.choices[0]'"),
    ("stack-python", _STACK_TRACE),
    ("stack-go", _GO_PANIC),
    ("urls-emails", "See https://example.com/docs/v2/index.html?q=router&lang=en#setup or mail ops-team+alerts@example.co.uk, ftp://files.example.org/pub/"),
    ("numbers", "3.14159 2,718 1e-9 -42 +7 0x1F 0b1010 1_000_000 12:30 2024-06-01 $19.99 45% 3/4 1st 2nd 10km"),
    # Unicode whitespace, controls and other oddities.
    ("tabs-newlines", "line one\nline two\r\nline\tthree\t\ttabs\n\n\nend"),
    ("unicode-spaces", "a\u00a0b\u2002c\u2003d\u2009e\u200af\u202fg\u205fh\u3000i\u1680j\u2028k\u2029l"),
    ("zero-width", "zero\u200bwidth\u200cnon\u200djoiner\ufeffbom\u2060word\u00adsoft"),
    ("control-chars", "bell\u0007 null\u0000 esc\u001b[31m red\u001b[0m del\u007f nel\u0085 vt\u000b ff\u000c end\ufffd"),
    ("private-use", "private \ue000\uf8ff \U000f0000 use"),
    # Code points whose class changed after the Unicode tables HF uses (about
    # version 9); glued to letters so a wrong class changes the ids.
    ("unicode-version-edges", "x\u0890y x\u2e4fy x\u2e52y x\u166dy x\u1734y x\U00011938y \u1c89\ua7cb a\u0301\U00016ff0 x\u08ca\u0301y"),
    ("special-tokens-in-text", "[CLS] hello [SEP] world [MASK] [PAD] [UNK] [cls] [ SEP ] x[SEP]y [SEP][SEP]"),
    # Word length limits and repetition.
    ("word-100-chars", "a" * 100),
    ("word-101-chars", "b" * 101),
    ("word-very-long", "pneumonoultramicroscopicsilicovolcanoconiosis" * 3 + " ok"),
    ("repeated-chars", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa hmmmmmmmmmmm nooooooooooo zzzzzzzzzzzzzzz"),
    ("repeated-words", "the " * 40),
    ("unknown-pieces", "xqzvbk qqqq ǂǃ ʘ ⵣ ᚠᛁᚱ"),
    ("hashtags", "#golang ##notaprefix @user #1 trending"),
]


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def escape_invisible(s: str) -> str:
    """JSON-escape every char that is invisible or fragile: non-printable
    chars (controls, format chars, Unicode spaces), combining marks, and
    anything NFC would rewrite. Then no input is hidden in the committed
    file, and an editor that strips or normalises text cannot change it."""
    out = []
    for ch in s:
        fragile = unicodedata.category(ch).startswith("M") or unicodedata.normalize("NFC", ch) != ch
        if ch == " " or (ch.isprintable() and not fragile):
            out.append(ch)
        elif ord(ch) > 0xFFFF:
            v = ord(ch) - 0x10000
            out.append("\\u%04x\\u%04x" % (0xD800 + (v >> 10), 0xDC00 + (v & 0x3FF)))
        else:
            out.append("\\u%04x" % ord(ch))
    return "".join(out)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("model_dir", nargs="?", type=Path, default=default_model_dir())
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = ap.parse_args()
    if not (args.model_dir / "tokenizer.json").is_file():
        print(f"reference: no model at {args.model_dir}; run `bash scripts/fetch-model.sh`", file=sys.stderr)
        return 1

    import sentence_transformers
    import tokenizers
    import torch
    import transformers
    from sentence_transformers import SentenceTransformer

    names = [n for n, _ in INPUTS]
    assert len(set(names)) == len(names), "duplicate input names"

    model = SentenceTransformer(str(args.model_dir), device="cpu")
    model.eval()
    # preprocess is what the deprecated model.tokenize forwards to.
    tokenize = getattr(model, "preprocess", None) or model.tokenize

    entries = []
    for name, text in INPUTS:
        ids = tokenize([text])["input_ids"][0].tolist()
        # One text per call: no padding, so the vector is what an
        # unbatched forward pass must reproduce.
        emb = model.encode([text], convert_to_numpy=True, batch_size=1)[0]
        assert emb.dtype.name == "float32"
        entries.append((name, text, ids, emb))

    files = {}
    for p in sorted(args.model_dir.rglob("*")):
        rel = p.relative_to(args.model_dir).as_posix()
        if p.is_file() and not any(part.startswith(".") for part in rel.split("/")):
            files[rel] = sha256(p)

    header = {
        "generator": "scripts/reference.py",
        "model": "sentence-transformers/all-MiniLM-L6-v2",
        "max_seq_length": model.max_seq_length,
        "dim": int(entries[0][3].shape[0]),
        "versions": {
            "sentence_transformers": sentence_transformers.__version__,
            "tokenizers": tokenizers.__version__,
            "transformers": transformers.__version__,
            "torch": torch.__version__,
            "python": platform.python_version(),
        },
        "files_sha256": files,
    }
    lines = ["{"]
    for k, v in header.items():
        lines.append(f"  {json.dumps(k)}: {json.dumps(v, sort_keys=True)},")
    lines.append('  "inputs": [')
    for i, (name, text, ids, emb) in enumerate(entries):
        vec = ",".join("%.8g" % float(x) for x in emb)
        sep = "," if i < len(entries) - 1 else ""
        lines.append(
            "    {%s: %s, %s: %s, %s: [%s], %s: [%s]}%s"
            % (
                json.dumps("name"), json.dumps(name),
                json.dumps("text"), escape_invisible(json.dumps(text, ensure_ascii=False)),
                json.dumps("ids"), ",".join(map(str, ids)),
                json.dumps("embedding"), vec,
                sep,
            )
        )
    lines.append("  ]")
    lines.append("}")
    out = "\n".join(lines) + "\n"
    json.loads(out)  # the hand-assembled layout must still be valid JSON

    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(out, encoding="utf-8")
    print(f"reference: wrote {len(entries)} inputs to {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
