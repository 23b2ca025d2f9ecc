#!/usr/bin/env python3
"""Summarises bench/embed.sh's raw output: medians over the -count runs of
the Go benchmarks, sentence-transformers' medians, their ratios, and the
peak RSS. Standard library only."""
import json
import re
import statistics
import sys

# Each variant is LEVEL-PRECISION (go-LEVEL-PRECISION.txt); the ratios are
# against the first.
out, levels = sys.argv[1], sys.argv[2:]
line = re.compile(r"^BenchmarkEmbed(Single|Batch)/(\S+?)(?:-(\d+))?\s+\d+\s+(.*)$")


def parse(path):
    res = {}
    for ln in open(path):
        m = line.match(ln.strip())
        if not m:
            continue
        kind, name, cpu, rest = m.group(1), m.group(2), m.group(3) or "1", m.group(4)
        metrics = dict((u, float(v)) for v, u in re.findall(r"([\d.]+) (\S+)", rest))
        key = (name, cpu)
        val = metrics.get("p50-ms") if kind == "Single" else metrics.get("sentences/s")
        res.setdefault(key, []).append(val)
    return {k: statistics.median(v) for k, v in res.items()}


go = {lv: parse(f"{out}/go-{lv}.txt") for lv in levels}
st = json.load(open(f"{out}/st.json"))
rss = re.search(r"Maximum resident set size \(kbytes\): (\d+)", open(f"{out}/rss.txt").read())

print(f"# Embedding engine vs sentence-transformers {st['versions']['sentence_transformers']} "
      f"(torch {st['versions']['torch']}), medians\n")
hdr = "| input | cores | " + " | ".join(f"switchyard {lv.replace('-', ' ')}" for lv in levels) + \
      " | sentence-transformers | ST / switchyard |"
print(hdr)
print("|" + "---|" * (hdr.count("|") - 1))
for cpu in ("1", "2"):
    for n in (8, 16, 32, 64, 128, 256):
        name = f"tokens={n}"
        gv = [go[lv].get((name, cpu)) for lv in levels]
        sv = st["threads"].get(cpu, {}).get(name)
        best = gv[0]
        ratio = f"{sv / best:.2f}x" if sv and best else "-"
        cells = " | ".join(f"{v:.2f} ms" if v else "-" for v in gv)
        print(f"| {n} tokens | {cpu} | {cells} | {sv:.2f} ms | {ratio} |")
    gv = [go[lv].get(("32x16", cpu)) for lv in levels]
    sv = st["threads"].get(cpu, {}).get("batch32x16_sps")
    ratio = f"{gv[0] / sv:.2f}x" if sv and gv[0] else "-"
    cells = " | ".join(f"{v:.0f} sent/s" if v else "-" for v in gv)
    print(f"| batch 32x16 | {cpu} | {cells} | {sv:.0f} sent/s | {ratio} |")
print()
if rss:
    print(f"Peak RSS of `switchyard embed` (model loaded, one text): {int(rss.group(1)) / 1024:.0f} MB")
print(f"Ratios: latency rows are ST time / switchyard {levels[0].replace('-', ' ')} time; batch rows are "
      "switchyard throughput / ST throughput. Above 1 means switchyard is faster.")
