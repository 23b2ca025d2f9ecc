#!/usr/bin/env python3
"""Configs, corpora and the results table of bench/conditions.sh.

Every setup routes with conditions only: each route is one line written
from what its label means, with no examples, and the same routes are
scored with each routing lever on its own, then all together, then with
the local LLM (routes expand, judge, LLM every time), and by
semantic-router given the same conditions. No text of any split is used
to write a condition.

Subcommands:

  prepare  write DIR/<setup>/{test,sample}.jsonl, one config per lever
           (L1.yaml … L5.yaml), semrouter.yaml and DIR/plan.json.
  llm      write the configs of the LLM levers (expand.yaml, judge.yaml,
           always.yaml) for a server at --url serving --model.
  table    write the results found in DIR into the markdown file --doc,
           between <!-- conditions:begin --> and <!-- conditions:end -->.

Python 3 standard library only.
"""
import argparse
import datetime
import json
import os
import random
import re
import sys
from collections import defaultdict

OOS = "oos"

# llm_tasks: the conditions of the original generator, word for word; three
# task types are held out as out of scope.
LLM_TASKS = {
    "chit_chat": "casual conversation, small talk, greetings",
    "closed_qa": "answering a question about a provided passage or document",
    "code_explanation": "explaining what a piece of code does",
    "coding": "writing code, programming tasks",
    "debugging": "fixing bugs and errors in code",
    "information_extraction": "extracting specific information from a text",
    "math": "math problems",
    "open_qa": "general knowledge and factual questions",
    "sql": "SQL and database queries",
    "stem": "science and engineering problems, physics, chemistry",
    "summarization": "summarizing a text",
    "translation": "translating text between languages",
}
LLM_TASKS_OOS = ("classification", "reasoning", "roleplay")

# MT-Bench: the descriptions bench/eval.sh uses, from one file.
with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "mt_bench-conditions.json"), encoding="utf-8") as _f:
    MT_BENCH = json.load(_f)

# Vicuna bench: one line per category, written from the category's name
# (FastChat's categories), not from its questions.
VICUNA = {
    "coding": "programming: write, explain or debug code, algorithms and software",
    "common-sense": "common-sense reasoning: everyday situations, what people would normally infer or do",
    "counterfactual": "counterfactual questions: what if a historical event or a fact had been different",
    "fermi": "Fermi estimation: rough order-of-magnitude estimates of quantities that are hard to count",
    "generic": "general advice: how to improve at something, tips for everyday life, health and work",
    "knowledge": "knowledge questions: explain a topic of science, history, economics, society or culture",
    "math": "mathematics: arithmetic, algebra, geometry, probability and word problems",
    "roleplay": "role-play: pretend to be a character or a person and answer in their voice",
    "writing": "writing: compose an essay, blog post, email, story, poem or other prose",
}

# MAS (the router README's example): two routes, its last model is its default.
MAS = {
    "baseURL": "https://api.openai.com/v1",
    "apiKey": "sk-xxx",
    "models": [
        {"condition": "programming, code examples, debugging", "model": "gpt-4"},
        {"condition": "general conversation, greetings, simple questions", "model": "gpt-3.5-turbo"},
    ],
}

# The levers: key, title, routing section (None: no section, the defaults).
LEVERS = [
    ("L1", "today's default (threshold 0.35, max, no library, no segments)",
     {"threshold": 0.35, "aggregation": "max", "ground": False, "segments": False}),
    ("L2", "+ auto threshold", {"threshold": "auto", "aggregation": "max", "ground": False, "segments": False}),
    ("L3", "+ instruction segments", {"threshold": 0.35, "aggregation": "max", "ground": False, "segments": True}),
    ("L4", "+ library (grounding)", {"threshold": 0.35, "aggregation": "max", "ground": True, "segments": False}),
    ("L5", "all together (the new default: auto threshold, lda, library, segments)", None),
]
LLM_LEVERS = [
    ("expand", "+ expand with the local model (routes expand --n 30), new defaults"),
    ("judge", "+ judge with the local model (below threshold), new defaults"),
    ("always", "LLM picks every time (MAS's method: judge always)"),
]
SAMPLED = ("L5s", "all together, on the LLM judge rows' sample (to compare with the two rows below)")
MASJSON = ("masjson", "the MAS JSON file itself, as switchyard reads it (new defaults)")
SEMROUTER = ("semrouter", "semantic-router 1.1.1, same conditions, no fit (always routes)")


def read_jsonl(path):
    with open(path, encoding="utf-8") as f:
        return [json.loads(l) for l in f if l.strip()]


def write_jsonl(path, rows, text_only=False):
    """Rows as eval reads them: {"text"|"messages", "label"}. text_only
    gives a conversation's last user turn as its text (what switchyard
    embeds with routing.turns 1), for semantic-router."""
    with open(path, "w", encoding="utf-8") as f:
        for r in rows:
            out = {k: r[k] for k in ("text", "messages") if k in r}
            if text_only and "text" not in out:
                out = {"text": next(m["content"] for m in reversed(r["messages"]) if m["role"] == "user")}
            out["label"] = r["label"]
            f.write(json.dumps(out, ensure_ascii=False) + "\n")


def q(s):
    return json.dumps(s, ensure_ascii=False)  # a JSON string is a YAML scalar


def example_routes(root):
    """Route names and conditions of config/example.go's example config,
    reduced to conditions (examples, negatives and thresholds dropped), and
    its default route."""
    src = open(os.path.join(root, "config", "example.go"), encoding="utf-8").read()
    routes = dict(re.findall(r'\n  - name: (\S+)\n    condition: "([^"]*)"', src))
    m = re.search(r"\ndefault_route: (\S+)", src)
    if not routes or not m:
        sys.exit("config/example.go: routes or default_route not found")
    return routes, m.group(1)


def words(s):
    return re.sub(r"[_\-]+", " ", s).strip()


def setups(data, root):
    """name -> setup: title, routes {name: condition}, default route
    (routes with no condition of their own get none), corpora."""
    domains = json.load(open(os.path.join(data, "clinc150_domains", "domains.json"), encoding="utf-8"))
    ex, ex_default = example_routes(root)
    llm_map = {l: OOS for l in LLM_TASKS_OOS}
    return {
        "llm_tasks-test": dict(
            title="llm_tasks test (12 task types + 3 held out as oos)",
            routes=LLM_TASKS, default="fallback", src=f"{data}/llm_tasks/test.jsonl", relabel=llm_map),
        "llm_tasks-val": dict(
            title="llm_tasks val (12 + 3 oos) — val, used for choosing defaults",
            routes=LLM_TASKS, default="fallback", src=f"{data}/llm_tasks/val.jsonl", relabel=llm_map,
            tuning=True),
        "mt_bench": dict(
            title="MT-Bench (8 categories; default route: writing)",
            routes=MT_BENCH, default="writing", src=f"{data}/mt_bench/test.jsonl"),
        "vicuna": dict(
            title="Vicuna bench (9 categories; default route: writing)",
            routes=VICUNA, default="writing", src=f"{data}/vicuna_bench/test.jsonl"),
        "clinc_domains-names": dict(
            title="CLINC150 domains (10 + oos), condition: the domain's name",
            routes={d: words(d) for d in sorted(domains)}, default="fallback",
            src=f"{data}/clinc150_domains/test.jsonl"),
        "clinc_domains-intents": dict(
            title="CLINC150 domains (10 + oos), condition: the domain's name and its 15 intents",
            routes={d: words(d) + ": " + ", ".join(words(i) for i in intents)
                    for d, intents in sorted(domains.items())},
            default="fallback", src=f"{data}/clinc150_domains/test.jsonl"),
        "corpus": dict(
            title=f"project corpus (example config's {len(ex)} routes as conditions; {ex_default} default, no condition)",
            routes=ex, default=ex_default, src=f"{root}/testdata/eval/corpus.jsonl"),
        "mas": dict(
            title="MAS README config (2 routes; project corpus, code → gpt-4, chat → gpt-3.5-turbo, other rows dropped)",
            routes={m["model"]: m["condition"] for m in MAS["models"]}, default=MAS["models"][-1]["model"],
            src=f"{root}/testdata/eval/corpus.jsonl",
            relabel={"code": "gpt-4", "chat": "gpt-3.5-turbo"}, keep_only_relabelled=True),
    }


def config_yaml(routes, default, routing=None, providers=(), judge=None, default_cond=True):
    """A switchyard config. default_cond False gives the default route no
    condition even when it is also one of routes (semantic-router's copy)."""
    out = ["providers:", "  - {name: up, kind: openai, base_url: http://127.0.0.1:9/v1}"]
    out += [f"  - {{name: {p}, kind: openai, base_url: {u}}}" for p, u in providers]
    out.append("routes:")
    for name, cond in routes.items():
        out.append(f"  - name: {q(name)}")
        out.append(f"    condition: {q(cond)}")
        out.append(f"    targets: [{{provider: up, model: {q(name)}}}]")
    if default not in routes or not default_cond:
        default = default if default not in routes else "fallback-no-condition"
        out.append(f"  - name: {q(default)}")
        out.append(f"    targets: [{{provider: up, model: {q(default)}}}]")
    out.append(f"default_route: {q(default)}")
    if routing:
        out.append("routing:")
        out += [f"  {k}: {str(v).lower() if isinstance(v, bool) else v}" for k, v in routing.items()]
    if judge:
        out.append("judge:")
        out.append(f"  provider: {judge['provider']}")
        out.append(f"  model: {q(judge['model'])}")
        out.append(f"  when: {judge['when']}")
        out.append(f"  timeout: {judge['timeout']}")
    return "\n".join(out) + "\n"


def stratified(rows, n, key, seed=0):
    """About n rows, proportionally from every value of key (largest
    remainder), at least one of each, in their original order."""
    if n <= 0 or n >= len(rows):
        return rows
    by = defaultdict(list)
    for i, r in enumerate(rows):
        by[key(r)].append(i)
    quota = {k: n * len(v) / len(rows) for k, v in by.items()}
    take = {k: max(1, int(x)) for k, x in quota.items()}
    for k in sorted(by, key=lambda k: quota[k] - int(quota[k]), reverse=True):
        if sum(take.values()) >= n:
            break
        take[k] += 1
    rng = random.Random(seed)
    keep = set()
    for k, idx in by.items():
        keep.update(rng.sample(idx, min(len(idx), take[k])))
    return [rows[i] for i in sorted(keep)]


def cmd_prepare(a):
    out = a.out
    plan = {}
    for name, s in setups(a.data, a.root).items():
        w = os.path.join(out, name)
        os.makedirs(w, exist_ok=True)
        rows = []
        for r in read_jsonl(s["src"]):
            orig = r["label"]
            lab = s.get("relabel", {}).get(orig)
            if lab is None:
                if s.get("keep_only_relabelled"):
                    continue
                lab = orig
            rows.append(dict(r, label=lab, orig=orig))
        write_jsonl(os.path.join(w, "test.jsonl"), rows)
        write_jsonl(os.path.join(w, "test-text.jsonl"), rows, text_only=True)
        write_jsonl(os.path.join(w, "sample.jsonl"), stratified(rows, a.sample, key=lambda r: r["orig"]))
        for key, _, routing in LEVERS:
            with open(os.path.join(w, key + ".yaml"), "w", encoding="utf-8") as f:
                f.write(config_yaml(s["routes"], s["default"], routing))
        # semantic-router maps its answer to "no route" when it is the
        # config's default route; a default route with a condition of its
        # own is a real route there, so its copy gets a default without one
        # (semantic-router, unfitted, always routes: the two are the same).
        with open(os.path.join(w, "semrouter.yaml"), "w", encoding="utf-8") as f:
            f.write(config_yaml(s["routes"], s["default"], default_cond=False))
        if name == "mas":
            with open(os.path.join(w, "mas.json"), "w", encoding="utf-8") as f:
                json.dump(MAS, f, indent=2)
        plan[name] = {"title": s["title"], "routes": s["routes"], "default": s["default"],
                      "default_has_condition": s["default"] in s["routes"],
                      "tuning": bool(s.get("tuning")), "rows": len(rows),
                      "has_oos": any(r["label"] == OOS for r in rows),
                      "sample_rows": len(stratified(rows, a.sample, key=lambda r: r["orig"]))}
    with open(os.path.join(out, "plan.json"), "w", encoding="utf-8") as f:
        json.dump(plan, f, indent=2)
    print(" ".join(plan))


def cmd_llm(a):
    plan = json.load(open(os.path.join(a.out, "plan.json"), encoding="utf-8"))
    prov = [("llm", a.url)]
    for name, s in plan.items():
        w = os.path.join(a.out, name)
        with open(os.path.join(w, "expand.yaml"), "w", encoding="utf-8") as f:
            f.write(config_yaml(s["routes"], s["default"], providers=prov))
        for key, when in (("judge", "{below_threshold: true}"), ("always", "{always: true}")):
            with open(os.path.join(w, key + ".yaml"), "w", encoding="utf-8") as f:
                f.write(config_yaml(s["routes"], s["default"], providers=prov, judge={
                    "provider": "llm", "model": a.model, "when": when, "timeout": a.timeout}))


# --------------------------------------------------------------------------- table


def load(path):
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def pct(v):
    return "–" if v is None else f"{100 * v:.1f}"


def get(d, *path):
    for p in path:
        if not isinstance(d, dict) or p not in d:
            return None
        d = d[p]
    return d


def row_figures(res, system):
    """accuracy, in-scope accuracy, macro-F1, oos F1, p50 ms, rows."""
    if system == "semrouter":
        return (res.get("accuracy"), res.get("inscope_accuracy"), res.get("macro_f1"),
                res.get("oos_f1"), get(res, "latency_ms", "p50"), res.get("n"))
    return (res.get("accuracy"), res.get("in_scope_accuracy"), res.get("macro_f1"),
            get(res, "oos", "f1"), get(res, "latency_ms", "p50"), res.get("n"))


def judge_note(res):
    """What the judge did, from eval --judge's report (its shape read loosely)."""
    j = res.get("judge") if isinstance(res.get("judge"), dict) else None
    if not j:
        return ""
    asked = next((j[k] for k in ("asked", "calls", "reached", "n") if isinstance(j.get(k), (int, float))), None)
    share = next((j[k] for k in ("share", "reached_share", "asked_share") if isinstance(j.get(k), (int, float))), None)
    errs = next((j[k] for k in ("errors", "failed") if isinstance(j.get(k), (int, float))), None)
    p50 = next((j[k] for k in ("p50_ms", "call_p50_ms", "latency_p50_ms") if isinstance(j.get(k), (int, float))), None)
    if p50 is None and isinstance(j.get("latency_ms"), dict):
        p50 = j["latency_ms"].get("p50")
    parts = []
    if share is not None:
        parts.append(f"reached the judge {100 * share:.0f} %" + (f" ({asked})" if asked is not None else ""))
    elif asked is not None:
        parts.append(f"judge calls {asked}")
    if errs:
        parts.append(f"judge errors {errs}")
    if p50 is not None:
        parts.append(f"judge p50 {p50 / 1000:.1f} s per call")
    return "; ".join(parts)


def load_note(path, cores):
    """A note when the row was timed with the load average (1 min) above
    half the cores: other work shared the CPU, so its p50 is inflated."""
    try:
        load, cores = float(open(path, encoding="utf-8").read().strip()), int(cores)
    except (OSError, ValueError, TypeError):
        return ""
    return f"timed at load {load:.1f} on {cores} cores" if load > cores / 2 else ""


def cmd_table(a):
    plan = json.load(open(os.path.join(a.out, "plan.json"), encoding="utf-8"))
    meta = load(os.path.join(a.out, "meta.json")) or {}
    levers = [(k, t) for k, t, _ in LEVERS] + [MASJSON] + LLM_LEVERS[:1] + [SAMPLED] + LLM_LEVERS[1:] + [SEMROUTER]
    block = [a.begin, ""]
    block.append(f"Run {meta.get('date', '?')} on {meta.get('cpu', '?')} ({meta.get('cores', '?')} cores), "
                 f"{meta.get('switchyard', 'switchyard ?')}, by `bash bench/conditions.sh`"
                 f"{' (' + meta['note'] + ')' if meta.get('note') else ''}. "
                 f"Embedding rows: every row of the split, p50 over {meta.get('latency_sample', '?')} timed "
                 f"decisions. LLM rows: {meta.get('llm_model', 'the local model')} "
                 f"({meta.get('llm_note', 'see below')}); a stratified sample of "
                 f"{meta.get('sample', '?')} rows (all rows where the split has fewer), p50 over "
                 f"{meta.get('llm_latency_sample', '?')} timed decisions.")
    block.append("")
    summary = {}
    for name, s in plan.items():
        w = os.path.join(a.out, name)
        block.append(f"**{s['title']}**, {s['rows']} rows"
                     + (" — **tuning split**" if s["tuning"] else "") + ".")
        block.append("")
        block.append("| lever | rows | accuracy % | in-scope accuracy % | macro-F1 % | oos F1 % | p50 ms | notes |")
        block.append("|---|---|---|---|---|---|---|---|")
        for key, title in levers:
            res = load(os.path.join(w, key + ".json"))
            note = ""
            if os.path.exists(os.path.join(w, key + ".note")):
                note = open(os.path.join(w, key + ".note"), encoding="utf-8").read().strip()
            if res is None:
                if note:
                    block.append(f"| {title} | – | n/a | | | | | {note} |")
                continue
            busy = load_note(os.path.join(w, key + ".load"), meta.get("cores"))
            note = "; ".join(x for x in (note, busy) if x)
            acc, ins, mf1, of1, p50, n = row_figures(res, "semrouter" if key == "semrouter" else "sy")
            if key in ("judge", "always"):
                jn = judge_note(res)
                note = "; ".join(x for x in (note, jn) if x)
            summary[(name, key)] = (acc, ins, of1, n)
            block.append(f"| {title} | {n if n is not None else '?'} | {pct(acc)} | "
                         f"{pct(ins) if s['has_oos'] else '='} | {pct(mf1)} | "
                         f"{pct(of1) if s['has_oos'] else 'n/a'} | "
                         f"{'–' if p50 is None else f'{p50:.2f}'} | {note} |")
        block.append("")

    # the targets, on the new default (L5) and the best row that is not the LLM every time
    def best(name, keys=("L5", "expand", "judge")):
        cands = [(k, summary[(name, k)]) for k in keys if (name, k) in summary]
        return cands
    block.append("**Targets** (test splits; the new default and its LLM-assisted variants):")
    block.append("")
    block.append("| target | new default (all together) | + expand | + judge (sample) | met? |")
    block.append("|---|---|---|---|---|")
    targets = [("llm_tasks test: accuracy ≥ 85 % with oos F1 ≥ 75 %", "llm_tasks-test", 0.85, 0.75),
               ("MT-Bench: accuracy ≥ 80 %", "mt_bench", 0.80, None),
               ("Vicuna: accuracy ≥ 75 %", "vicuna", 0.75, None)]
    for label, name, acc_t, oos_t in targets:
        cells, met = [], []
        for k in ("L5", "expand", "judge"):
            v = summary.get((name, k))
            if v is None:
                cells.append("n/a")
                continue
            acc, _, of1, n = v
            ok = acc is not None and acc >= acc_t and (oos_t is None or (of1 is not None and of1 >= oos_t))
            cells.append(f"{pct(acc)}" + (f" / oos F1 {pct(of1)}" if oos_t else "") + (f" (n={n})" if k == "judge" else ""))
            met.append((k, ok))
        verdict = ", ".join(f"{'yes' if ok else 'no'} ({k})" for k, ok in met) or "n/a"
        block.append(f"| {label} | {cells[0]} | {cells[1]} | {cells[2]} | {verdict} |")
    block += ["", a.end]

    with open(a.doc, encoding="utf-8") as f:
        doc = f.read()
    i, j = doc.find(a.begin), doc.find(a.end)
    if i < 0 or j < i:
        doc = doc.rstrip("\n") + "\n\n## Conditions only: routes written as conditions, no examples\n\n" \
            + a.begin + "\n" + a.end + "\n"
        i, j = doc.find(a.begin), doc.find(a.end)
    doc = doc[:i] + "\n".join(block) + doc[j + len(a.end):]
    with open(a.doc, "w", encoding="utf-8") as f:
        f.write(doc)
    sys.stdout.write("\n".join(block[1:-1]) + "\n")


def cmd_meta(a):
    path = os.path.join(a.out, "meta.json")
    meta = load(path) or {}
    if a.init:
        meta["date"] = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    for kv in a.set or []:
        k, _, v = kv.partition("=")
        meta[k] = v
    with open(path, "w", encoding="utf-8") as f:
        json.dump(meta, f, indent=2)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("prepare")
    p.add_argument("--data", required=True, help="datasets root")
    p.add_argument("--root", required=True, help="the repository")
    p.add_argument("--out", required=True)
    p.add_argument("--sample", type=int, default=150, help="rows of the LLM levers' stratified sample")
    p.set_defaults(fn=cmd_prepare)
    l = sub.add_parser("llm")
    l.add_argument("--out", required=True)
    l.add_argument("--url", required=True)
    l.add_argument("--model", required=True)
    l.add_argument("--timeout", default="60s", help="judge.timeout")
    l.set_defaults(fn=cmd_llm)
    t = sub.add_parser("table")
    t.add_argument("--out", required=True)
    t.add_argument("--doc", required=True)
    t.add_argument("--begin", default="<!-- conditions:begin -->")
    t.add_argument("--end", default="<!-- conditions:end -->")
    t.set_defaults(fn=cmd_table)
    m = sub.add_parser("meta")
    m.add_argument("--out", required=True)
    m.add_argument("--init", action="store_true")
    m.add_argument("--set", action="append", help="key=value")
    m.set_defaults(fn=cmd_meta)
    a = ap.parse_args()
    a.fn(a)


if __name__ == "__main__":
    main()
