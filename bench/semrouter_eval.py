#!/usr/bin/env python3
"""Score aurelio-labs semantic-router on the routes of a switchyard config.

The other side of `switchyard eval`: the same model files, the same utterances
(each route's condition and examples, read from the switchyard YAML), thresholds
fitted on a validation split, scores on a test split. Run through
bench/eval.sh, which runs both sides on every dataset setup.

Subcommands:

  run     (default) build a semantic-router IndexedRouter from a switchyard
          config, fit it on --val, score it on --test, print one JSON object.
  routes  write a switchyard config with one route per dataset label (a
          stand-in for `switchyard routes from-dataset` and for the
          conditions-only setups).
  split   stratified split of a train file into train/val files, for datasets
          that ship no validation split.

Datasets are JSONL {"text", "label"}; the label `oos` marks out-of-scope rows,
which are right when the router returns no route.
"""
import argparse
import json
import os
import random
import re
import statistics
import sys
import time
from collections import Counter, defaultdict

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

OOS = "oos"


def read_jsonl(path):
    rows = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if line:
                r = json.loads(line)
                rows.append((r["text"], r["label"]))
    return rows


def write_jsonl(path, rows):
    with open(path, "w", encoding="utf-8") as f:
        for text, label in rows:
            f.write(json.dumps({"text": text, "label": label}, ensure_ascii=False) + "\n")


def norm(text):
    return " ".join(text.lower().split())


def subsample(rows, limit, seed):
    """A deterministic stratified subsample of about `limit` rows."""
    if not limit or limit >= len(rows):
        return rows
    rng = random.Random(seed)
    by = defaultdict(list)
    for r in rows:
        by[r[1]].append(r)
    frac = limit / len(rows)
    out = []
    for label in sorted(by):
        group = by[label][:]
        rng.shuffle(group)
        out.extend(group[: max(1, round(len(group) * frac))])
    return out


# --------------------------------------------------------------------------- metrics


def metrics(gold, pred):
    """gold/pred: label lists, `oos` for out of scope / no route.

    accuracy: share of test rows whose prediction equals the gold label (an oos
    row is right only when no route was returned). macro_f1: per-class F1
    averaged over the classes of the split (every label some test row has, plus
    oos when any row is labelled or predicted oos), as switchyard's
    router/eval does. oos_*: oos as the positive class; null when the split
    has no out-of-scope rows.
    """
    n = len(gold)
    acc = sum(g == p for g, p in zip(gold, pred)) / n
    classes = sorted(set(gold) | ({OOS} if OOS in pred else set()))
    tp, fp, fn = Counter(), Counter(), Counter()
    for g, p in zip(gold, pred):
        if g == p:
            tp[g] += 1
        else:
            fp[p] += 1
            fn[g] += 1

    def prf(c):
        p = tp[c] / (tp[c] + fp[c]) if tp[c] + fp[c] else 0.0
        r = tp[c] / (tp[c] + fn[c]) if tp[c] + fn[c] else 0.0
        f = 2 * p * r / (p + r) if p + r else 0.0
        return p, r, f

    macro = statistics.fmean(prf(c)[2] for c in classes)
    out = {"n": n, "accuracy": acc, "macro_f1": macro,
           "oos_precision": None, "oos_recall": None, "oos_f1": None}
    if OOS in gold:
        p, r, f = prf(OOS)
        out.update(oos_precision=p, oos_recall=r, oos_f1=f)
    inscope = [(g, p) for g, p in zip(gold, pred) if g != OOS]
    out["inscope_accuracy"] = (sum(g == p for g, p in inscope) / len(inscope)) if inscope else None
    return out


# --------------------------------------------------------------------------- run


def facets(condition):
    """The parts of a condition written as a list, as switchyard's
    classifier.Facets splits it: on commas, semicolons and line breaks,
    trimmed, a leading "and"/"or" dropped, repeats skipped; none for
    fewer than two parts."""
    out, seen = [], set()
    for p in re.split(r"[,;\n\r\uff0c\uff1b\u3001]", condition):
        p = p.strip().strip(".").strip()
        for conj in ("and ", "or "):
            if len(p) > len(conj) and p[:len(conj)].lower() == conj:
                p = p[len(conj):].strip()
        if p and p.lower() not in seen:
            seen.add(p.lower())
            out.append(p)
    return out if len(out) >= 2 else []


def load_routes(config_path):
    import yaml

    with open(config_path, encoding="utf-8") as f:
        cfg = yaml.safe_load(f)
    default = cfg.get("default_route")
    whole = bool((cfg.get("routing") or {}).get("whole_conditions"))
    routes = []
    for r in cfg.get("routes") or []:
        utts = []
        cond = r.get("condition")
        if isinstance(cond, str) and cond.strip():
            utts.append(cond.strip())
            # the same utterances switchyard indexes: the condition's
            # facets too, unless the config turns them off
            if not whole:
                utts.extend(facets(cond))
        for ex in r.get("examples") or []:
            if isinstance(ex, str) and ex.strip():
                utts.append(ex.strip())
        if not utts:
            continue  # the default route (or a name-only route): never matched by similarity
        # an utterance listed twice in a route is one record in the index
        seen, uniq = set(), []
        for u in utts:
            if u not in seen:
                seen.add(u)
                uniq.append(u)
        routes.append((r["name"], uniq))
    return routes, default, cfg.get("routing") or {}


def cmd_run(a):
    t_start = time.perf_counter()
    import numpy as np  # noqa: F401
    import torch
    import sentence_transformers
    import semantic_router
    from semantic_router import IndexedRouter, Route
    from semantic_router.encoders import LocalEncoder

    if a.threads:
        torch.set_num_threads(a.threads)

    routes, default_route, routing = load_routes(a.config)
    if not routes:
        sys.exit(f"{a.config}: no route with a condition or examples")
    test = read_jsonl(a.test)
    test = subsample(test, a.limit, a.seed)
    val = read_jsonl(a.val) if a.val else []
    val = subsample(val, a.val_limit, a.seed)

    agg, top_k = a.aggregation, a.top_k
    if a.match_switchyard:
        agg = routing.get("aggregation", "max")
        top_k = int(routing.get("top_k", 5))
        if agg not in ("max", "mean"):
            # semantic-router has no counterpart of switchyard's lda
            print(f"semrouter: no counterpart of aggregation {agg!r}; using max", file=sys.stderr)
            agg = "max"

    # semantic-router's own sentence-transformers encoder, given the local model
    # directory instead of a hub name: SentenceTransformer(dir) reads modules.json,
    # the transformer files and the pooling config from it, offline.
    t0 = time.perf_counter()
    encoder = LocalEncoder(name=a.model_dir, device="cpu")
    t_model = time.perf_counter() - t0

    sr_routes = [Route(name=name, utterances=utts) for name, utts in routes]
    names = {name for name, _ in routes}
    t0 = time.perf_counter()
    router = IndexedRouter(encoder=encoder, routes=sr_routes, top_k=top_k, aggregation=agg)
    t_index = time.perf_counter() - t0

    def as_target(label):
        return None if label == OOS or label not in names else label

    fit_info = {"n": len(val), "method": a.method, "report": None}
    val_has_oos = any(label == OOS for _, label in val)
    test_has_oos = any(label == OOS for _, label in test)
    threshold = None
    if val:
        t0 = time.perf_counter()
        try:
            rep = router.fit([t for t, _ in val], [as_target(l) for _, l in val], method=a.method)
            fit_info["report"] = {"accuracy_top1": rep.accuracy, "ece": rep.ece, "n": rep.n}
            fit_info["calibrator"] = router.calibrator.to_dict() if router.calibrator else None
            # semantic-router's documented recipe: after fit(), confidences are
            # P(top route is right); act only when more likely right than wrong.
            if a.confidence_threshold is not None:
                threshold = a.confidence_threshold
            elif val_has_oos or test_has_oos:
                threshold = 0.5
        except ValueError as e:  # e.g. every validation query already right
            fit_info["error"] = str(e)
        fit_info["seconds"] = time.perf_counter() - t0
    elif a.confidence_threshold is not None:
        threshold = a.confidence_threshold
    router.confidence_threshold = threshold

    # one query at a time through the public call, embedding included
    for text, _ in test[: min(5, len(test))]:
        router(text)
    gold, pred, lat = [], [], []
    for text, label in test:
        t0 = time.perf_counter()
        choice = router(text)
        lat.append(time.perf_counter() - t0)
        name = choice.name
        gold.append(label)
        pred.append(name if name is not None and name != default_route else OOS)

    lat_ms = sorted(x * 1000 for x in lat)

    def pct(q):
        return lat_ms[min(len(lat_ms) - 1, int(q * len(lat_ms)))]

    res = {
        "system": "semantic-router",
        "semantic_router_version": semantic_router.__version__,
        "sentence_transformers_version": sentence_transformers.__version__,
        "torch_version": torch.__version__,
        "torch_threads": torch.get_num_threads(),
        "config": a.config,
        "val": a.val,
        "test": a.test,
        "model_dir": a.model_dir,
        "router": {
            "class": "IndexedRouter",
            "index": type(router.index).__name__,
            "routes": len(routes),
            "utterances": sum(len(u) for _, u in routes),
            "top_k": top_k,
            "aggregation": agg,
            "confidence_threshold": threshold,
        },
        "fit": fit_info,
        **metrics(gold, pred),
        "latency_ms": {"p50": statistics.median(lat_ms), "p90": pct(0.90), "p99": pct(0.99),
                       "mean": statistics.fmean(lat_ms)},
        "seconds": {"model_load": t_model, "index_build": t_index,
                    "total": time.perf_counter() - t_start},
    }
    if a.predictions:
        with open(a.predictions, "w", encoding="utf-8") as f:
            for (text, _), g, p in zip(test, gold, pred):
                f.write(json.dumps({"text": text, "label": g, "pred": p}, ensure_ascii=False) + "\n")
    json.dump(res, sys.stdout, indent=None if a.compact else 2)
    sys.stdout.write("\n")


# --------------------------------------------------------------------------- routes


def yaml_str(s):
    return json.dumps(s, ensure_ascii=False)  # a JSON string is a valid YAML scalar


def humanise(label):
    return re.sub(r"[_\-]+", " ", label).strip()


def cmd_routes(a):
    rows = read_jsonl(a.data) if a.data else []
    labels = [l.strip() for l in open(a.labels, encoding="utf-8") if l.strip()] if a.labels \
        else sorted({l for _, l in rows if l != OOS})
    conditions = {}
    if a.conditions:
        with open(a.conditions, encoding="utf-8") as f:
            conditions = json.load(f)
    exclude = set()
    for path in a.exclude or []:
        exclude.update(norm(t) for t, _ in read_jsonl(path))
    by = defaultdict(list)
    for text, label in rows:
        key = norm(text)
        if label == OOS or key in exclude:
            continue
        if key not in {norm(t) for t in by[label]}:
            by[label].append(text)
    n = a.examples_per_route
    out = ["# Generated by bench/semrouter_eval.py routes: one route per label.",
           "providers:",
           "  - {name: eval, kind: openai, base_url: http://127.0.0.1:9/v1}",
           "routes:"]
    default = a.default_route
    if default in labels:
        sys.exit(f"default route name {default!r} is also a label")
    for label in labels:
        out.append(f"  - name: {yaml_str(label)}")
        out.append(f"    condition: {yaml_str(conditions.get(label, humanise(label)))}")
        exs = by.get(label, [])
        exs = exs if n is None or n < 0 else exs[:n]
        if exs:
            out.append("    examples:")
            out.extend(f"      - {yaml_str(t)}" for t in exs)
        out.append("    targets: [{provider: eval, model: " + yaml_str(label) + "}]")
    out.append(f"  - name: {yaml_str(default)}")
    out.append("    targets: [{provider: eval, model: default}]")
    out.append(f"default_route: {yaml_str(default)}")
    if a.threshold is not None:
        out.append("routing:")
        out.append(f"  threshold: {a.threshold}")
    sys.stdout.write("\n".join(out) + "\n")


# --------------------------------------------------------------------------- split


def cmd_split(a):
    rows = read_jsonl(a.data)
    rng = random.Random(a.seed)
    by = defaultdict(list)
    for r in rows:
        by[r[1]].append(r)
    train, val = [], []
    for label in sorted(by):
        group = by[label][:]
        rng.shuffle(group)
        k = max(1, round(len(group) * a.val_fraction)) if len(group) > 1 else 0
        val.extend(group[:k])
        train.extend(group[k:])
    write_jsonl(a.train_out, train)
    write_jsonl(a.val_out, val)
    print(json.dumps({"train": len(train), "val": len(val), "labels": len(by)}), file=sys.stderr)


def cmd_sample(a):
    rows = read_jsonl(a.data)
    if a.exclude:
        drop = set()
        for path in a.exclude:
            drop.update(norm(t) for t, _ in read_jsonl(path))
        rows = [r for r in rows if norm(r[0]) not in drop]
    if a.dedupe:
        seen, uniq = set(), []
        for r in rows:
            key = (norm(r[0]), r[1])
            if key not in seen:
                seen.add(key)
                uniq.append(r)
        rows = uniq
    rows = subsample(rows, a.limit, a.seed)
    write_jsonl(a.out, rows)


# --------------------------------------------------------------------------- table


def find(obj, *paths):
    """The first value found at one of the dotted paths (switchyard's JSON shape
    is read loosely: accuracy, macro_f1, oos.f1 / oos_f1, latency_ms.p50 / ...)."""
    for path in paths:
        cur = obj
        for part in path.split("."):
            if isinstance(cur, dict) and part in cur:
                cur = cur[part]
            else:
                cur = None
                break
        if isinstance(cur, (int, float)) and not isinstance(cur, bool):
            return float(cur)
    return None


def summary(res):
    if res is None:
        return None
    return {
        "n": find(res, "n", "rows", "count", "total"),
        "accuracy": find(res, "accuracy", "metrics.accuracy"),
        "inscope": find(res, "in_scope_accuracy", "inscope_accuracy"),
        "macro_f1": find(res, "macro_f1", "metrics.macro_f1", "macro.f1"),
        "oos_f1": find(res, "oos_f1", "oos.f1", "metrics.oos_f1", "metrics.oos.f1"),
        "p50": find(res, "latency_ms.p50", "latency.p50_ms", "latency.p50", "p50_ms", "metrics.latency_ms.p50"),
    }


def cmd_table(a):
    with open(a.manifest, encoding="utf-8") as f:
        manifest = json.load(f)

    def load(path):
        if not path or not os.path.exists(path) or os.path.getsize(path) == 0:
            return None
        try:
            with open(path, encoding="utf-8") as f:
                return json.load(f)
        except ValueError:
            return None

    def pct(v):
        return "–" if v is None else f"{100 * v:.1f}"

    def ms(v):
        return "–" if v is None else f"{v:.2f}"

    lines = ["| setup | test rows | system | accuracy % | in-scope accuracy % | macro-F1 % | oos F1 % | p50 ms |",
             "|---|---|---|---|---|---|---|---|"]
    for m in manifest["setups"]:
        for system, key in (("switchyard", "switchyard"), ("semantic-router", "semrouter")):
            res = load(m.get(key))
            s = summary(res)
            if s is None:
                note = m.get(key + "_note") or "not run"
                lines.append(f"| {m['title']} | {m['test_rows']} | {system} | {note} | | | | |")
                continue
            oos = pct(s["oos_f1"]) if m.get("has_oos") else "n/a"
            inscope = pct(s["inscope"]) if m.get("has_oos") else "="
            lines.append(f"| {m['title']} | {m['test_rows']} | {system} | {pct(s['accuracy'])} | "
                         f"{inscope} | {pct(s['macro_f1'])} | {oos} | {ms(s['p50'])} |")
    meta = manifest.get("meta", {})
    block = [a.begin, "",
             f"Run {meta.get('date', '?')} on {meta.get('cpu', '?')} ({meta.get('cores', '?')} cores)"
             f"{', quick mode (test splits subsampled)' if meta.get('quick') else ''}; "
             f"semantic-router {meta.get('semantic_router', '?')}, sentence-transformers "
             f"{meta.get('sentence_transformers', '?')}, torch {meta.get('torch', '?')}; "
             f"{meta.get('switchyard', 'switchyard ?')}.", ""] + lines + [""]
    notes = manifest.get("notes") or []
    if notes:
        block += [f"- {n}" for n in notes] + [""]
    block.append(a.end)
    with open(a.doc, encoding="utf-8") as f:
        doc = f.read()
    i, j = doc.find(a.begin), doc.find(a.end)
    if i < 0 or j < i:
        sys.exit(f"{a.doc}: markers {a.begin} / {a.end} not found")
    doc = doc[:i] + "\n".join(block) + doc[j + len(a.end):]
    with open(a.doc, "w", encoding="utf-8") as f:
        f.write(doc)
    sys.stdout.write("\n".join(lines) + "\n")


def main():
    argv = sys.argv[1:]
    if not argv or argv[0] not in ("run", "routes", "split", "sample", "table", "-h", "--help"):
        argv = ["run"] + argv
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)

    r = sub.add_parser("run", help="fit on --val, score on --test, print JSON")
    r.add_argument("--config", required=True, help="switchyard YAML config (routes: condition + examples)")
    r.add_argument("--test", required=True, help="JSONL test split")
    r.add_argument("--val", help="JSONL validation split to fit on (none: no fit, no threshold)")
    r.add_argument("--model-dir", default=os.environ.get("SWITCHYARD_MODEL_DIR") or os.path.join(
        os.environ.get("SWITCHYARD_MODELS") or os.path.join(
            os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "switchyard", "models"),
        "all-MiniLM-L6-v2"))
    r.add_argument("--method", default="platt", choices=["platt", "isotonic"], help="semantic-router fit method")
    r.add_argument("--confidence-threshold", type=float, default=None,
                   help="override the threshold (default 0.5 on the calibrated confidence when the data "
                        "has out-of-scope rows, else none)")
    r.add_argument("--top-k", type=int, default=5, help="semantic-router IndexedRouter top_k (its default 5)")
    r.add_argument("--aggregation", default="mean", choices=["mean", "max", "sum"],
                   help="semantic-router aggregation (its default mean)")
    r.add_argument("--match-switchyard", action="store_true",
                   help="use the config's routing.aggregation/top_k (switchyard defaults max/5) instead")
    r.add_argument("--limit", type=int, default=0, help="stratified subsample of the test split")
    r.add_argument("--val-limit", type=int, default=0, help="stratified subsample of the val split")
    r.add_argument("--seed", type=int, default=0)
    r.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    r.add_argument("--predictions", help="write per-row predictions JSONL here")
    r.add_argument("--compact", action="store_true", help="print the JSON on one line")
    r.set_defaults(fn=cmd_run)

    g = sub.add_parser("routes", help="write a switchyard config, one route per label")
    g.add_argument("--data", help="JSONL rows to take examples from (train split)")
    g.add_argument("--labels", help="labels.txt (default: labels in --data)")
    g.add_argument("--examples-per-route", type=int, default=0, help="-1: all")
    g.add_argument("--conditions", help="JSON {label: condition}; default the label, underscores as spaces")
    g.add_argument("--exclude", action="append", help="JSONL whose texts may not be examples (test, val)")
    g.add_argument("--default-route", default="fallback")
    g.add_argument("--threshold", type=float, help="write routing.threshold (e.g. -1: always route)")
    g.set_defaults(fn=cmd_routes)

    s = sub.add_parser("split", help="stratified train/val split")
    s.add_argument("--data", required=True)
    s.add_argument("--train-out", required=True)
    s.add_argument("--val-out", required=True)
    s.add_argument("--val-fraction", type=float, default=0.2)
    s.add_argument("--seed", type=int, default=0)
    s.set_defaults(fn=cmd_split)

    m = sub.add_parser("sample", help="filter / dedupe / stratified-subsample a JSONL file")
    m.add_argument("--data", required=True)
    m.add_argument("--out", required=True)
    m.add_argument("--exclude", action="append", help="drop rows whose text is in this JSONL")
    m.add_argument("--dedupe", action="store_true", help="drop repeated (text, label) rows")
    m.add_argument("--limit", type=int, default=0)
    m.add_argument("--seed", type=int, default=0)
    m.set_defaults(fn=cmd_sample)

    t = sub.add_parser("table", help="write the results table into a markdown file between markers")
    t.add_argument("--manifest", required=True)
    t.add_argument("--doc", required=True)
    t.add_argument("--begin", default="<!-- eval:begin -->")
    t.add_argument("--end", default="<!-- eval:end -->")
    t.set_defaults(fn=cmd_table)

    a = ap.parse_args(argv)
    a.fn(a)


if __name__ == "__main__":
    main()
