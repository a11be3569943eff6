#!/usr/bin/env python3
"""What ANCE's refreshes cost (bench/protocol.py): the wall time of `garden embed train
--negatives ance` against the same training with in-batch negatives and with BM25 negatives,
at equal steps, on the same embedder and collection, each in fresh processes, alternating.

    bench/ance.py [--build-dir build] [--documents 1000] [--steps 60] [--batch 32] [--refresh-every 20] [--ann-lag 10]
                  [--threads 2] [--reps 5]

The embedder is the shared base LM with ANCE's head (`garden embed init --projection 128
--projection-layernorm --score dot`), the collection `garden dsi synth-entities --indexed-only
0` (three training queries per document). In-batch training embeds two texts per example,
BM25 and ANCE three (query, positive, one negative): ANCE against BM25 is the cost of the
refreshes alone (re-encoding the corpus and the training queries, the flat search, the draw),
ANCE against in-batch what a user pays over the cheapest recipe. The ANCE runs also report the
share of wall time the trainer waited for a refresh (metrics.jsonl's ann_wait_share).
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import protocol  # noqa: E402


def garden_run(garden, args):
    """A `garden` command in a fresh process, its output discarded: {} on success."""
    return ["sh", "-c", '"$@" >/dev/null 2>&1 && echo {}', "sh", garden, *args]


def last_eval(metrics_path):
    rows = [json.loads(line) for line in open(metrics_path) if line.strip()]
    return [r for r in rows if r.get("kind") == "eval"][-1]


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--build-dir", default=os.path.join(protocol.ROOT, "build"))
    p.add_argument("--documents", type=int, default=1000)
    p.add_argument("--steps", type=int, default=60)
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--refresh-every", type=int, default=20)
    p.add_argument("--ann-lag", type=int, default=10)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--reps", type=int, default=5)
    a = p.parse_args()
    garden = os.path.join(a.build_dir, "src", "garden", "garden")
    protocol.require("ance", a.reps, garden)
    env = protocol.environment()
    with tempfile.TemporaryDirectory() as work:
        base = subprocess.run([garden, "lm", "base"], capture_output=True, text=True, check=True).stdout.strip().splitlines()[-1]
        synth, emb = os.path.join(work, "synth"), os.path.join(work, "emb")
        protocol.run_json(garden_run(garden, ["dsi", "synth-entities", "--documents", str(a.documents), "--indexed-only", "0", "--out", synth]))
        protocol.run_json(garden_run(garden, ["embed", "init", "--model", base, "--projection", "128", "--projection-layernorm", "--score", "dot",
                                              "--max-tokens", "48", "--out", emb]))

        def side(negatives, index):
            out = os.path.join(work, "%s-%d" % (negatives, index))
            return out, ["embed", "train", "--negatives", negatives, "--collection", synth, "--model", emb, "--steps", str(a.steps),
                         "--batch", str(a.batch), "--refresh-every", str(a.refresh_every), "--ann-lag", str(a.ann_lag),
                         "--eval-every", str(a.steps), "--checkpoint-every", str(a.steps), "--threads", str(a.threads), "--out", out]

        names = ["in-batch", "BM25", "ANCE"]
        negatives = {"in-batch": "inbatch", "BM25": "bm25", "ANCE": "ance"}
        seconds = {name: [] for name in names}
        waits, refresh = [], []
        for round_index in range(a.reps):
            for name in names if round_index % 2 == 0 else list(reversed(names)):
                out, args = side(negatives[name], round_index)
                start = time.perf_counter()
                protocol.run_json(garden_run(garden, args))
                seconds[name].append(time.perf_counter() - start)
                if name == "ANCE":
                    row = last_eval(os.path.join(out, "metrics.jsonl"))
                    waits.append(row["ann_wait_share"])
                    refresh.append(row["ann_refresh_seconds"])
    summaries = {name: protocol.summary(values) for name, values in seconds.items()}
    over_inbatch = protocol.ratio_summary(seconds["ANCE"], seconds["in-batch"])
    over_bm25 = protocol.ratio_summary(seconds["ANCE"], seconds["BM25"])
    print("garden embed train on synth-entities (%d documents, %d training queries), the base LM with ANCE's head; %d steps of "
          "batch %d, %d threads; ANCE refreshes every %d steps, used %d steps later; %d fresh processes per side, alternating\n"
          % (a.documents, 3 * a.documents, a.steps, a.batch, a.threads, a.refresh_every, a.ann_lag, a.reps))
    print("| negatives | wall seconds | ANCE / side |")
    print("| --- | ---: | ---: |")
    for name in names:
        s = summaries[name]
        ratio = {"in-batch": over_inbatch, "BM25": over_bm25}.get(name)
        print("| %s | %.1f (%.1f-%.1f) | %s |" % (name, s["median"], s["min"], s["max"],
                                                  "%.2fx (%.2f-%.2f)" % (ratio["median_ratio"], ratio["min"], ratio["max"]) if ratio else "-"))
    print("\nANCE: one refresh took %.1f s (median of the last refresh per run); the trainer waited for refreshes %.1f%% of its "
          "wall time (median; spread %.1f-%.1f%%)" % (statistics.median(refresh), 100 * statistics.median(waits), 100 * min(waits),
                                                     100 * max(waits)))
    path = protocol.save("ance", {"bench": "ance", "environment": env, "documents": a.documents, "steps": a.steps, "batch": a.batch,
                                  "refresh_every": a.refresh_every, "ann_lag": a.ann_lag, "threads": a.threads, "reps": a.reps,
                                  "seconds": seconds, "summary": summaries, "ance_over_inbatch": over_inbatch,
                                  "ance_over_bm25": over_bm25, "wait_share": waits, "refresh_seconds": refresh})
    print("\nraw results: %s (commit %s)" % (os.path.relpath(path, protocol.ROOT), env["commit"]))


if __name__ == "__main__":
    main()
