"""Peer of bench/ann_bench.cpp: hnswlib's Python binding (Debian python3-hnswlib) on the same
vectors, same M / ef_construction, one thread. Prints one JSON line:
{"build_seconds": s, "points": [{"ef": e, "recall": r, "qps": q}, ...]}.
"""
import argparse
import json
import time

import hnswlib
import numpy as np


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--base", required=True)
    p.add_argument("--queries", required=True)
    p.add_argument("--truth", required=True)
    p.add_argument("--m", type=int, default=16)
    p.add_argument("--ef-construction", type=int, default=200)
    p.add_argument("--efs", default="16,32,64,128,256,512")
    p.add_argument("--k", type=int, default=10)
    a = p.parse_args()
    base, queries = np.load(a.base), np.load(a.queries)
    truth = np.load(a.truth).astype(np.int64)  # written as float32, exact below 2^24
    index = hnswlib.Index(space="ip", dim=base.shape[1])
    start = time.perf_counter()
    index.init_index(max_elements=base.shape[0], ef_construction=a.ef_construction, M=a.m, random_seed=0)
    index.add_items(base, np.arange(base.shape[0]), num_threads=1)
    build = time.perf_counter() - start
    points = []
    for ef in (int(x) for x in a.efs.split(",")):
        index.set_ef(max(ef, a.k))
        seconds = float("inf")
        for _ in range(3):  # best of 3 rounds, as garden's side does
            start = time.perf_counter()
            labels, _ = index.knn_query(queries, k=a.k, num_threads=1)
            seconds = min(seconds, time.perf_counter() - start)
        recall = np.mean([len(set(labels[i]) & set(truth[i])) / a.k for i in range(len(queries))])
        points.append({"ef": ef, "recall": float(recall), "qps": len(queries) / seconds})
    print(json.dumps({"build_seconds": build, "points": points}))


if __name__ == "__main__":
    main()
