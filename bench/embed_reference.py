#!/usr/bin/env python3
"""Time sentence-transformers (PyTorch, CPU) on the inputs BenchmarkEmbedSingle
and BenchmarkEmbedBatch use, so the Go engine can be compared side by side.

Prints one JSON object: {"threads": {"1": {"tokens=16": p50_ms, ...,
"batch32x16_sps": ...}, "2": {...}}, "versions": {...}}.
Run through bench/embed.sh, which also runs the Go benchmarks.
"""
import argparse
import json
import os
import statistics
import sys
import time

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

import torch  # noqa: E402
import sentence_transformers  # noqa: E402
from sentence_transformers import SentenceTransformer  # noqa: E402

# Must match benchWords in embed/local_bench_test.go.
WORDS = """the server sends each request to a model that
fits the task and keeps a record of how well every route works over time so
people can see what happens when they change a condition or add an example
to the list of things it should know about before it makes a choice""".split()


def bench_text(n):
    return " ".join(WORDS[i % len(WORDS)] for i in range(n - 2))


def p50(fn, seconds):
    lat = []
    fn()  # warm-up
    end = time.perf_counter() + seconds
    while time.perf_counter() < end or len(lat) < 20:
        t0 = time.perf_counter()
        fn()
        lat.append(time.perf_counter() - t0)
    return statistics.median(lat) * 1000


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("model_dir")
    ap.add_argument("--seconds", type=float, default=2.0, help="time per measurement")
    ap.add_argument("--threads", default="1,2")
    args = ap.parse_args()

    model = SentenceTransformer(args.model_dir, device="cpu")
    tok = model.tokenizer
    out = {"threads": {}, "versions": {
        "torch": torch.__version__,
        "sentence_transformers": sentence_transformers.__version__,
        "python": sys.version.split()[0],
    }}
    words16 = bench_text(16 + len(WORDS)).split()
    batch = [" ".join(words16[i % len(WORDS): i % len(WORDS) + 14]) for i in range(32)]
    for t in batch:
        assert len(tok(t)["input_ids"]) == 16, t
    for threads in [int(x) for x in args.threads.split(",")]:
        torch.set_num_threads(threads)
        res = {}
        with torch.inference_mode():
            for n in (8, 16, 32, 64, 128, 256):
                text = bench_text(n)
                assert len(tok(text)["input_ids"]) == n, (n, text)
                res[f"tokens={n}"] = round(p50(lambda: model.encode([text], batch_size=1), args.seconds), 3)
            t0 = time.perf_counter()
            reps = 0
            while time.perf_counter() - t0 < args.seconds * 2 or reps < 3:
                model.encode(batch, batch_size=32)
                reps += 1
            res["batch32x16_sps"] = round(32 * reps / (time.perf_counter() - t0), 1)
        out["threads"][str(threads)] = res
    json.dump(out, sys.stdout, indent=1)
    print()


if __name__ == "__main__":
    main()
