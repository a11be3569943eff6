#!/usr/bin/env python3
"""BM25 under bench/protocol.py: garden's Xapian-backed index against the same Okapi BM25
written as the plainest fast C++ (an in-memory inverted index with a dense score array,
bench/peers/bm25_peer.cpp, same compiler flags) and as a CPython dictionary index
(bench/peers/bm25_peer.py). In every round each side (in alternating order) builds its index
in a fresh process, and another fresh process opens or rebuilds it, measures its size in
memory and the time that takes (garden reads its postings into memory; the peers, which have
no on-disk form, build again), and times every query of the collection --repeats times at
top 100.

    bench/bm25.py [--build-dir build] [--collections npl,cranfield] [--reps 5] [--repeats 10]

Collections are BEIR folders under the data root ($GARDEN_DATA, else ../shared/data beside
the checkout). Before any time is reported every side must rank the same as garden for every
query: the same top-100 scores position by position (to 1e-5 relative) and the same documents
strictly above the 100th score (documents tied at the cut may differ); else the benchmark
stops.
"""
import argparse
import os
import shutil
import statistics
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import protocol  # noqa: E402


def same_ranking(ours, theirs):
    """None when the two top-100 lists rank the same, else what differs."""
    if len(ours) != len(theirs):
        return "%d vs %d hits" % (len(ours), len(theirs))
    for i, ((_, a), (_, b)) in enumerate(zip(ours, theirs)):
        if abs(a - b) > 1e-5 * max(1.0, abs(a)):
            return "score at rank %d: %.6f vs %.6f" % (i + 1, a, b)
    if ours:
        cut = ours[-1][1]
        above = lambda hits: {doc for doc, score in hits if score > cut + 1e-5}  # noqa: E731
        if above(ours) != above(theirs):
            return "documents above the cut differ"
    return None


def measure(sides, collection, work, reps, repeats):
    names = list(sides)
    runs = {name: [] for name in names}
    for round_index in range(reps):
        for name in names if round_index % 2 == 0 else list(reversed(names)):
            build, search = sides[name]
            index = os.path.join(work, "index")
            built = protocol.run_json(build(collection, index))
            searched = protocol.run_json(search(collection, index, str(repeats)))
            searched["build"] = built
            runs[name].append(searched)
            shutil.rmtree(index, ignore_errors=True)
    return runs


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--build-dir", default=os.path.join(protocol.ROOT, "build"))
    p.add_argument("--data", default=os.environ.get("GARDEN_DATA", os.path.join(os.path.dirname(protocol.ROOT), "shared", "data")))
    p.add_argument("--collections", default="npl,cranfield")
    p.add_argument("--reps", type=int, default=5)
    p.add_argument("--repeats", type=int, default=10)
    a = p.parse_args()
    if a.repeats < 1:
        protocol.fail("bm25: --repeats must be at least 1")
    garden = os.path.join(a.build_dir, "bench", "garden_bench_bm25")
    cpp_peer = os.path.join(a.build_dir, "bench", "garden_bench_bm25_peer")
    protocol.require("bm25", a.reps, garden, cpp_peer)
    python_peer = os.path.join(protocol.ROOT, "bench", "peers", "bm25_peer.py")
    sides = {
        "garden": (lambda c, i: [garden, "build", c, i], lambda c, i, r: [garden, "search", c, i, r]),
        "C++ in-memory": (lambda c, i: [cpp_peer, "build", c], lambda c, i, r: [cpp_peer, "search", c, r]),
        "CPython dict": (lambda c, i: [protocol.PYTHON, python_peer, "build", c],
                         lambda c, i, r: [protocol.PYTHON, python_peer, "search", c, r]),
    }
    env = protocol.environment()
    print("BM25 (k1 0.9, b 0.4), top 100, %d fresh processes per side (alternating), every query %d times per process\n"
          % (a.reps, a.repeats))
    results = []
    for name in a.collections.split(","):
        collection = os.path.join(a.data, name)
        if not os.path.exists(os.path.join(collection, "corpus.jsonl")):
            protocol.fail("bm25: %s holds no BEIR collection (corpus.jsonl); give --data or --collections" % collection)
        with tempfile.TemporaryDirectory() as work:
            runs = measure(sides, collection, work, a.reps, a.repeats)
        reference = runs["garden"][0]["runs"]
        for side, side_runs in runs.items():
            for run in side_runs:
                for qid, hits in reference.items():
                    difference = same_ranking(hits, run["runs"].get(qid, []))
                    if difference:
                        protocol.fail("bm25: %s, query %s: %s ranks differently from garden (%s)" % (name, qid, side, difference))
        docs = runs["garden"][0]["build"]["docs"]
        row = {"collection": name, "docs": docs, "queries": len(reference), "sides": {}}
        for side, side_runs in runs.items():
            p50 = [statistics.median(r["latencies_ms"]) for r in side_runs]
            p99 = [sorted(r["latencies_ms"])[min(len(r["latencies_ms"]) - 1, int(0.99 * len(r["latencies_ms"])))] for r in side_runs]
            row["sides"][side] = {
                "docs_per_second": protocol.summary([docs / r["build"]["build_seconds"] for r in side_runs]),
                "p50_ms": protocol.summary(p50), "p99_ms": protocol.summary(p99),
                "open_ms": protocol.summary([1000 * r["open_seconds"] for r in side_runs]),
                "disk_mb": side_runs[0]["build"].get("disk_bytes", 0) / 1e6,
                "ram_mb": statistics.median(r["ram_bytes"] for r in side_runs) / 1e6,
                "peak_rss_mb": {"build": max(r["build"]["peak_rss_bytes"] for r in side_runs) / 1e6,
                                "search": max(r["peak_rss_bytes"] for r in side_runs) / 1e6},
                "p50_runs": p50}
        results.append(row)
        print_row(row)
    for row in results:
        for side in row["sides"].values():
            side.pop("p50_runs")
    path = protocol.save("bm25", {"bench": "bm25", "environment": env, "reps": a.reps, "repeats": a.repeats, "results": results})
    print("\nraw results: %s (commit %s)" % (os.path.relpath(path, protocol.ROOT), env["commit"]))


def print_row(row):
    sides = row["sides"]
    print("%s: %d documents, %d queries; every side ranked the same as garden for every query (top-100 scores to "
          "1e-5, documents above the cut)\n" % (row["collection"], row["docs"], row["queries"]))
    print("| side | build docs/s | open ms | query p50 ms | query p99 ms | p50 / garden's p50 | index on disk | index in RAM "
          "| peak RSS build / search |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    garden = sides["garden"]
    for name, s in sides.items():
        ratios = [b / g for g, b in zip(garden["p50_runs"], s["p50_runs"])]
        d, p50, p99, opened = s["docs_per_second"], s["p50_ms"], s["p99_ms"], s["open_ms"]
        print("| %s | %.0f (%.0f-%.0f) | %.1f | %.3f (%.3f-%.3f) | %.3f (%.3f-%.3f) | %s | %s | %.1f MB | %.0f / %.0f MB |" % (
            name, d["median"], d["min"], d["max"], opened["median"], p50["median"], p50["min"], p50["max"], p99["median"],
            p99["min"], p99["max"],
            "-" if name == "garden" else "%.2fx (%.2f-%.2f)" % (p50["median"] / garden["p50_ms"]["median"], min(ratios), max(ratios)),
            "%.1f MB" % s["disk_mb"] if s["disk_mb"] else "- (in memory)", s["ram_mb"], s["peak_rss_mb"]["build"],
            s["peak_rss_mb"]["search"]))
    print(flush=True)


if __name__ == "__main__":
    main()
