#!/usr/bin/env python3
"""Approximate nearest-neighbour search under bench/protocol.py: garden's `hnsw` index
against hnswlib itself (a C++ peer from the same headers with the same compiler flags), with
hnswlib's Debian Python binding and FAISS's IndexHNSWFlat as further rows. In every round each
side (in alternating order) builds its index in a fresh process (M=16, efConstruction 200,
one thread) and saves it, and another fresh process loads it, measures its size in memory
and sweeps efSearch over the same queries.

    bench/ann.py [--build-dir build] [--n 20000] [--d 128] [--queries 1000] [--reps 5]
    bench/ann.py --vectors BASE.npy,QUERIES.npy [--name NAME]   (given vectors, e.g. embeddings)

Checks before any figure is reported: garden and the C++ hnswlib peer must return identical
top-10 lists at every efSearch (same algorithm, same graph), and every side's recall must be
the same in every repetition. FAISS and hnswlib search different graphs, so they are
compared at equal recall: each side's queries/s at a recall level is read off its own
efSearch sweep (log-linear between the two points around it). The instruction sets each side
was compiled for are read from its machine code (objdump) and printed with the results.
"""
import argparse
import json
import math
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import protocol  # noqa: E402

EFS = [10, 16, 24, 32, 48, 64, 96, 128, 192, 256, 384, 512, 768, 1024]
TARGETS = [0.5, 0.8, 0.9, 0.95, 0.98, 0.99]
LIBFAISS = "/usr/lib/x86_64-linux-gnu/libfaiss.a"


def widest_vectors(path):
    """'AVX-512', 'AVX/AVX2' or 'SSE only', from the registers the machine code names."""
    try:
        listing = subprocess.run(["objdump", "-d", "--no-show-raw-insn", path], capture_output=True, text=True,
                                 check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return "unknown (objdump failed)"
    if re.search(r"%zmm\d", listing):
        return "AVX-512"
    if re.search(r"%ymm\d", listing):
        return "AVX/AVX2"
    return "SSE only"


def recall(ids, truth):
    hits = sum(len(set(got) & set(want)) for got, want in zip(ids, truth))
    return hits / sum(len(want) for want in truth)


def qps_at(points, target):
    """Queries/s at `target` recall on one sweep [(recall, qps)], log-linear between the
    neighbouring points; None outside the sweep's range."""
    points = sorted(points)
    for (r1, q1), (r2, q2) in zip(points, points[1:]):
        if r1 <= target <= r2:
            if r2 == r1:
                return max(q1, q2)
            w = (target - r1) / (r2 - r1)
            return math.exp((1 - w) * math.log(q1) + w * math.log(q2))
    return None


def summarise_side(name, runs, truth, queries):
    """Recall per efSearch (identical in every run, else the benchmark stops) and each run's
    queries/s."""
    recalls = []
    for point_index, ef in enumerate(EFS):
        values = {round(recall(run["points"][point_index]["ids"], truth), 6) for run in runs}
        if len(values) != 1:
            protocol.fail("ann: %s's recall at efSearch %d differs between repetitions (%s): its build is not "
                          "deterministic" % (name, ef, sorted(values)))
        recalls.append(values.pop())
    qps = [[queries / run["points"][i]["seconds"] for i in range(len(EFS))] for run in runs]
    return recalls, qps


def measure(sides, folder, ef_list, reps):
    """Each round runs every side (the order reversed every other round): a fresh process
    builds its index, another loads it and sweeps efSearch, then the index is deleted.
    Returns {side: [search result with its build result under "build", ...]}."""
    names = list(sides)
    runs = {name: [] for name in names}
    for round_index in range(reps):
        for name in names if round_index % 2 == 0 else list(reversed(names)):
            index = os.path.join(folder, "index-" + name.replace(" ", "-"))
            built = protocol.run_json([*sides[name], "build", folder, index])
            searched = protocol.run_json([*sides[name], "search", folder, index, ef_list])
            searched["build"] = built
            runs[name].append(searched)
            if os.path.isdir(index):
                shutil.rmtree(index)
            else:
                os.remove(index)
    return runs


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--build-dir", default=os.path.join(protocol.ROOT, "build"))
    p.add_argument("--n", type=int, default=20000)
    p.add_argument("--d", type=int, default=128)
    p.add_argument("--queries", type=int, default=1000)
    p.add_argument("--reps", type=int, default=5)
    p.add_argument("--vectors", help="BASE.npy,QUERIES.npy: benchmark on these instead of the synthetic sets")
    p.add_argument("--name", default="embeddings", help="the name of the --vectors set in the report")
    a = p.parse_args()
    if a.vectors and len(a.vectors.split(",")) != 2:
        protocol.fail("ann: --vectors takes BASE.npy,QUERIES.npy")
    bench = os.path.join(a.build_dir, "bench", "garden_bench_ann")
    peer = os.path.join(a.build_dir, "bench", "garden_bench_ann_hnswlib")
    protocol.require("ann", a.reps, bench, peer)
    python_peer = os.path.join(protocol.ROOT, "bench", "peers", "ann_peer.py")
    env = protocol.environment()
    hnswlib_module = subprocess.run([protocol.PYTHON, "-c", "import hnswlib; print(hnswlib.__file__)"],
                                    capture_output=True, text=True).stdout.strip()
    isa = {"garden": widest_vectors(bench), "hnswlib C++": widest_vectors(peer),
           "hnswlib Python": widest_vectors(hnswlib_module) if hnswlib_module else "not installed",
           "FAISS HNSW": widest_vectors(LIBFAISS)}
    ef_list = ",".join(str(e) for e in EFS)
    shape = ("vectors of %s and queries of %s" % tuple(a.vectors.split(",")) if a.vectors
             else "%d unit vectors of d=%d, %d queries" % (a.n, a.d, a.queries))
    print("ANN search: %s, top-10, M=16, efConstruction=200, one thread; %d fresh processes per side (alternating)"
          % (shape, a.reps))
    print("instruction sets in each side's machine code: %s\n" % ", ".join("%s %s" % kv for kv in isa.items()))
    sets = []
    with tempfile.TemporaryDirectory() as work:
        if a.vectors:
            base_file, queries_file = a.vectors.split(",")
            subprocess.run([bench, "prepare-from", os.path.join(work, a.name), base_file, queries_file], check=True)
            set_names = [a.name]
        else:
            subprocess.run([bench, "prepare", work, str(a.n), str(a.d), str(a.queries)], check=True)
            set_names = ["gaussian", "clustered"]
        for name in set_names:
            folder = os.path.join(work, name)
            with open(os.path.join(folder, "truth.json")) as f:
                truth = json.load(f)
            sides = {"garden": [bench, "garden"], "hnswlib C++": [peer], "FAISS HNSW": [bench, "faiss"]}
            if hnswlib_module:
                sides["hnswlib Python"] = [protocol.PYTHON, python_peer]
            runs = measure(sides, folder, ef_list, a.reps)
            queries = len(truth)
            for i, ef in enumerate(EFS):
                for run in runs["hnswlib C++"]:
                    if run["points"][i]["ids"] != runs["garden"][0]["points"][i]["ids"]:
                        protocol.fail("ann: %s, efSearch %d: garden and hnswlib return different top-10 lists "
                                      "from the same algorithm and build" % (name, ef))
            result = {"set": name, "sides": {}}
            for side, side_runs in runs.items():
                recalls, qps = summarise_side(side, side_runs, truth, queries)
                at_recall = {}
                for target in TARGETS:
                    values = [qps_at(list(zip(recalls, run_qps)), target) for run_qps in qps]
                    if all(v is not None for v in values):
                        at_recall[target] = values
                result["sides"][side] = {
                    "recall": dict(zip(EFS, recalls)),
                    "qps": {ef: protocol.summary([run_qps[i] for run_qps in qps]) for i, ef in enumerate(EFS)},
                    "qps_runs": {ef: [run_qps[i] for run_qps in qps] for i, ef in enumerate(EFS)},
                    "qps_at_recall": {t: protocol.summary(v) for t, v in at_recall.items()},
                    "qps_at_recall_raw": at_recall,
                    "build_seconds": protocol.summary([r["build"]["build_seconds"] for r in side_runs]),
                    "disk_mb": side_runs[0]["build"]["disk_bytes"] / 1e6,
                    "ram_mb": statistics.median(r["ram_bytes"] for r in side_runs) / 1e6,
                    "peak_rss_mb": {"build": max(r["build"]["peak_rss_bytes"] for r in side_runs) / 1e6,
                                    "search": max(r["peak_rss_bytes"] for r in side_runs) / 1e6},
                    "instructions": isa[side]}
            sets.append(result)
            print_set(result, a)
    for result in sets:  # the id lists were checked above; the saved results keep the figures
        for side in result["sides"].values():
            side.pop("qps_at_recall_raw")
    path = protocol.save("ann", {"bench": "ann", "environment": env, "data": a.vectors or "synthetic",
                                 "n": a.n, "d": a.d, "queries": a.queries,
                                 "reps": a.reps, "efs": EFS, "instructions": isa, "sets": sets})
    print("\nraw results: %s (commit %s)" % (os.path.relpath(path, protocol.ROOT), env["commit"]))


def print_set(result, a):
    sides = result["sides"]
    garden = sides["garden"]
    print("%s: garden and hnswlib C++ returned identical top-10 lists at every efSearch" % result["set"])
    print("\n| side | instructions | build s | index on disk | index in RAM | peak RSS build / search |")
    print("| --- | --- | ---: | ---: | ---: | ---: |")
    for name, s in sides.items():
        b = s["build_seconds"]
        print("| %s | %s | %.1f (%.1f-%.1f) | %.1f MB | %.1f MB | %.0f / %.0f MB |" % (
            name, s["instructions"], b["median"], b["min"], b["max"], s["disk_mb"], s["ram_mb"],
            s["peak_rss_mb"]["build"], s["peak_rss_mb"]["search"]))
    print("\nAt equal efSearch (same graph for garden and hnswlib C++; queries/s median, min-max):\n")
    print("| efSearch | recall@10 | garden q/s | hnswlib C++ q/s | garden / hnswlib C++ (per-round range) |")
    print("| ---: | ---: | ---: | ---: | ---: |")
    peer = sides["hnswlib C++"]
    for ef in EFS:
        g, h = garden["qps"][ef], peer["qps"][ef]
        ratios = [x / y for x, y in zip(garden["qps_runs"][ef], peer["qps_runs"][ef])]
        print("| %d | %.4f | %.0f (%.0f-%.0f) | %.0f (%.0f-%.0f) | %.2fx (%.2f-%.2f) |" % (
            ef, garden["recall"][ef], g["median"], g["min"], g["max"], h["median"], h["min"], h["max"],
            g["median"] / h["median"], min(ratios), max(ratios)))
    others = [n for n in sides if n != "garden"]
    print("\nAt equal recall (each side's queries/s read off its own sweep; median of %d runs, min-max):\n" % a.reps)
    print("| recall@10 | garden q/s | " + " | ".join("%s q/s | garden / %s" % (n, n) for n in others) + " |")
    print("| ---: | ---: | " + " | ".join("---: | ---:" for _ in others) + " |")
    for target in TARGETS:
        if target not in garden["qps_at_recall"]:
            continue
        g = garden["qps_at_recall"][target]
        cells = []
        for n in others:
            o = sides[n]["qps_at_recall"].get(target)
            if o is None:
                cells.append("- | -")
                continue
            ratios = [x / y for x, y in zip(garden["qps_at_recall_raw"][target], sides[n]["qps_at_recall_raw"][target])]
            cells.append("%.0f (%.0f-%.0f) | %.2fx (%.2f-%.2f)" % (o["median"], o["min"], o["max"], g["median"] / o["median"],
                                                                 min(ratios), max(ratios)))
        print("| %.2f | %.0f (%.0f-%.0f) | %s |" % (target, g["median"], g["min"], g["max"], " | ".join(cells)))
    print(flush=True)


if __name__ == "__main__":
    main()
