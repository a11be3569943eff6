"""Peer of garden's BM25 index in bench/bm25.py, in CPython: the same Okapi BM25 (k1 0.9,
b 0.4, tokens = lower-case [a-z0-9]+ runs, document = title + " " + text) as a dictionary
inverted index. Same modes and JSON lines as bench/peers/bm25_peer.cpp:

usage: bm25_peer.py build COLLECTION | search COLLECTION REPEATS
"""
import collections
import heapq
import json
import math
import os
import re
import sys
import time
from process_stats import peak_resident_bytes, resident_bytes

TOKEN = re.compile(r"[a-z0-9]+")


def build(collection):
    postings = collections.defaultdict(dict)
    lengths, ids = [], []
    with open(os.path.join(collection, "corpus.jsonl")) as f:
        for line in f:
            if not line.strip():
                continue
            doc = json.loads(line)
            title = doc.get("title") or ""
            tokens = TOKEN.findall(((title + " ") if title else "").lower() + doc["text"].lower())
            d = len(ids)
            ids.append(doc["_id"])
            lengths.append(len(tokens))
            for t, tf in collections.Counter(tokens).items():
                postings[t][d] = tf
    n = len(ids)
    avgdl = sum(lengths) / n if n and sum(lengths) else 1.0
    idf = {t: math.log(1 + (n - len(ds) + 0.5) / (len(ds) + 0.5)) for t, ds in postings.items()}
    return ids, lengths, avgdl, postings, idf


def main():
    mode = sys.argv[1] if len(sys.argv) > 1 else ""
    if not ((mode == "build" and len(sys.argv) == 3) or (mode == "search" and len(sys.argv) == 4)):
        sys.exit("usage: bm25_peer.py build COLLECTION | search COLLECTION REPEATS")
    collection = sys.argv[2]
    if mode == "build":
        start = time.perf_counter()
        ids = build(collection)[0]
        print(json.dumps({"docs": len(ids), "build_seconds": time.perf_counter() - start,
                          "peak_rss_bytes": peak_resident_bytes()}))
        return
    with open(os.path.join(collection, "queries.jsonl")) as f:
        queries = [json.loads(line) for line in f if line.strip()]
    before = resident_bytes()
    start = time.perf_counter()
    ids, lengths, avgdl, postings, idf = build(collection)
    open_seconds = time.perf_counter() - start
    ram = resident_bytes() - before

    def top100(text):
        scores = collections.defaultdict(float)
        for t in TOKEN.findall(text.lower()):
            for d, tf in postings.get(t, {}).items():
                scores[d] += idf[t] * tf * 1.9 / (tf + 0.9 * (0.6 + 0.4 * lengths[d] / avgdl))
        return heapq.nlargest(100, scores.items(), key=lambda x: x[1])

    latencies = []
    for _ in range(int(sys.argv[3])):
        for q in queries:
            start = time.perf_counter()
            top100(q["text"])
            latencies.append(1000 * (time.perf_counter() - start))
    runs = {q["_id"]: [[ids[d], s] for d, s in top100(q["text"])] for q in queries}
    print(json.dumps({"ram_bytes": ram, "open_seconds": open_seconds, "latencies_ms": latencies, "runs": runs, "peak_rss_bytes": peak_resident_bytes()}))


if __name__ == "__main__":
    main()
