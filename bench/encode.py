#!/usr/bin/env python3
"""Encoder throughput (documents/s) under bench/protocol.py: garden's embedder against the
same embedder in PyTorch-Python (bench/peers/encode_peer.py), on the shared base LM turned
into an embedder as `garden embed init` does (mean pooling, bidirectional attention).

    bench/encode.py [--build-dir build] [--collection npl] [--docs 2000] [--batch 32] [--threads 2] [--rounds 3] [--reps 5]
                    [--head mean|ance]

--head ance puts ANCE's head on the embedder (a linear layer and a LayerNorm, vectors scored by
inner product, `garden embed init --projection-layernorm --score dot`): the encoder whose
corpus encoding every ANCE refresh repeats (docs/performance.md).

Both sides encode the same token rows (garden tokenises the collection's first --docs
documents once), sorted by length, in batches of --batch, right-padded. Each side runs in
--reps fresh processes, alternating; a process makes one warm-up pass and --rounds timed
passes, and its figure is the median of its passes. Before any time is reported, the two
must give the same vectors: cosine at least 0.9999 for each of the first 16 documents.
"""
import argparse
import os
import statistics
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import protocol  # noqa: E402


def cosine(a, b):
    dot = sum(x * y for x, y in zip(a, b))
    return dot / (sum(x * x for x in a) ** 0.5 * sum(y * y for y in b) ** 0.5)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--build-dir", default=os.path.join(protocol.ROOT, "build"))
    p.add_argument("--data", default=os.environ.get("GARDEN_DATA", os.path.join(os.path.dirname(protocol.ROOT), "shared", "data")))
    p.add_argument("--collection", default="npl")
    p.add_argument("--docs", type=int, default=2000)
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--reps", type=int, default=5)
    p.add_argument("--head", choices=("mean", "ance"), default="mean")
    a = p.parse_args()
    if min(a.docs, a.batch, a.threads, a.rounds) < 1:
        protocol.fail("encode: --docs, --batch, --threads and --rounds must be at least 1")
    garden = os.path.join(a.build_dir, "bench", "garden_bench_encode")
    protocol.require("encode", a.reps, garden)
    collection = os.path.join(a.data, a.collection)
    if not os.path.exists(os.path.join(collection, "corpus.jsonl")):
        protocol.fail("encode: %s holds no BEIR collection (corpus.jsonl); give --data or --collection" % collection)
    peer = os.path.join(protocol.ROOT, "bench", "peers", "encode_peer.py")
    env = protocol.environment()
    with tempfile.TemporaryDirectory() as work:
        setup = protocol.run_json([garden, "prepare", work, collection, str(a.docs), a.head])
        common = [str(a.batch), str(a.threads), str(a.rounds)]
        head = [setup["embedder"]] if a.head == "ance" else []
        runs = protocol.alternate({"garden": [garden, "run", work, *common],
                                   "PyTorch (Python)": [protocol.PYTHON, peer, work, setup["model"], *common, *head]}, a.reps)
    worst = min(cosine(x, y) for run in runs["PyTorch (Python)"] for x, y in zip(runs["garden"][0]["sample"], run["sample"]))
    if worst < 0.9999:
        protocol.fail("encode: garden and PyTorch give different vectors (cosine %.6f): not the same encoder" % worst)
    norm = lambda v: sum(x * x for x in v) ** 0.5  # noqa: E731
    worst_norm = max(abs(norm(x) - norm(y)) / norm(x) for run in runs["PyTorch (Python)"]
                     for x, y in zip(runs["garden"][0]["sample"], run["sample"]))
    if worst_norm > 1e-4:  # inner-product vectors (--head ance) carry part of the score in their length
        protocol.fail("encode: garden's and PyTorch's vectors differ in length by %.2g relative: not the same encoder" % worst_norm)
    docs = setup["documents"]
    rates = {side: [statistics.median(docs / s for s in r["seconds"]) for r in rs] for side, rs in runs.items()}
    ours, theirs = protocol.summary(rates["garden"]), protocol.summary(rates["PyTorch (Python)"])
    ratio = protocol.ratio_summary(rates["garden"], rates["PyTorch (Python)"])
    tokens_per_doc = setup["tokens"] / docs
    print("Encoder: base LM + mean pooling, bidirectional%s; %d documents of %s (%.1f tokens each on average), batch %d, "
          "%d threads; %d fresh processes per side (alternating), each a warm-up and %d timed passes; vectors agree "
          "(smallest cosine %.7f)\n" % (", ANCE's head LN(W h + b)" if a.head == "ance" else "", docs, a.collection, tokens_per_doc, a.batch, a.threads, a.reps, a.rounds, worst))
    print("| side | documents/s | tokens/s | garden / side | peak RSS |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for side, s in (("garden", ours), ("PyTorch (Python)", theirs)):
        peak = max(r["peak_rss_bytes"] for r in runs[side]) / 1e6
        print("| %s | %.0f (%.0f-%.0f) | %.0f | %s | %.0f MB |" % (
            side, s["median"], s["min"], s["max"], s["median"] * tokens_per_doc,
            "-" if side == "garden" else "%.2fx (%.2f-%.2f)" % (ratio["median_ratio"], ratio["min"], ratio["max"]), peak))
    path = protocol.save("encode", {"bench": "encode", "environment": env, "head": a.head, "collection": a.collection, "documents": docs,
                                    "tokens": setup["tokens"], "batch": a.batch, "threads": a.threads, "rounds": a.rounds,
                                    "reps": a.reps, "smallest_cosine": worst, "garden": ours, "pytorch": theirs, "ratio": ratio,
                                    "docs_per_second_runs": rates})
    print("\nraw results: %s (commit %s)" % (os.path.relpath(path, protocol.ROOT), env["commit"]))


if __name__ == "__main__":
    main()
