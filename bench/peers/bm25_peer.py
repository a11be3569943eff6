"""Peer of bench/bm25_bench.cpp: the same Okapi BM25 (k1 0.9, b 0.4, tokens = lower-case
[a-z0-9]+ runs, document = title + " " + text) as a plain in-memory inverted index in Python.
Prints one JSON line: {"docs_per_second", "p50_ms", "p99_ms"} for building and for top-100
queries (each query repeated --repeats times), and "runs": each query's top 100 as
[document id, score] pairs, which the benchmark compares with garden's.
"""
import argparse
import collections
import heapq
import json
import math
import re
import time

TOKEN = re.compile(r"[a-z0-9]+")


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--collection", required=True)
    p.add_argument("--repeats", type=int, default=10)
    a = p.parse_args()
    start = time.perf_counter()
    postings = collections.defaultdict(dict)
    lengths, ids = [], []
    with open(f"{a.collection}/corpus.jsonl") as f:
        for line in f:
            doc = json.loads(line)
            title = doc.get("title") or ""
            tokens = TOKEN.findall(((title + " ") if title else "") .lower() + doc["text"].lower())
            d = len(ids)
            ids.append(doc["_id"])
            lengths.append(len(tokens))
            for t, tf in collections.Counter(tokens).items():
                postings[t][d] = tf
    build = time.perf_counter() - start
    n, avgdl = len(ids), sum(lengths) / len(lengths)
    idf = {t: math.log(1 + (n - len(ds) + 0.5) / (len(ds) + 0.5)) for t, ds in postings.items()}
    with open(f"{a.collection}/queries.jsonl") as f:
        queries = [json.loads(line) for line in f]
    def top100(text):
        scores = collections.defaultdict(float)
        for t in TOKEN.findall(text.lower()):
            for d, tf in postings.get(t, {}).items():
                scores[d] += idf[t] * tf * 1.9 / (tf + 0.9 * (0.6 + 0.4 * lengths[d] / avgdl))
        return heapq.nlargest(100, scores.items(), key=lambda x: x[1])

    latencies = []
    for _ in range(a.repeats):
        for q in queries:
            start = time.perf_counter()
            top100(q["text"])
            latencies.append(time.perf_counter() - start)
    runs = {q["_id"]: [[ids[d], s] for d, s in top100(q["text"])] for q in queries}
    latencies.sort()
    print(json.dumps({"docs_per_second": n / build, "p50_ms": 1000 * latencies[len(latencies) // 2],
                      "p99_ms": 1000 * latencies[min(len(latencies) - 1, int(0.99 * len(latencies)))], "runs": runs}))


if __name__ == "__main__":
    main()
