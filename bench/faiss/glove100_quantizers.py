"""FAISS 1.7.3 reference figures for the glove100 quantizer acceptance lines.

Usage: /usr/bin/python3 bench/faiss/glove100_quantizers.py DATASET_DIR [CONFIG ...]
Reads base.fvecs, query.fvecs, groundtruth.ivecs from DATASET_DIR (the glove100 cache
written by vqlite), L2-normalises base and queries (angular metric), and for each
FAISS factory string (default PQ10np PQ20np PQ25np PQ50np SQ8 SQ4 SQfp16) trains on
the base, adds the base, searches the 1,000 queries for k = 10 and prints one JSON
line: recall@10, mean squared reconstruction error of the unit base vectors, timings.
"""
import json
import os
import sys
import time

import faiss
import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
from vecs import load_eval_set  # noqa: E402


def main():
    root = sys.argv[1]
    configs = sys.argv[2:] or ["PQ10np", "PQ20np", "PQ25np", "PQ50np", "SQ8", "SQ4", "SQfp16"]
    metric_name = os.environ.get("FAISS_METRIC", "l2")
    metric = faiss.METRIC_INNER_PRODUCT if metric_name == "ip" else faiss.METRIC_L2
    threads = int(os.environ.get("FAISS_THREADS", "1"))
    faiss.omp_set_num_threads(threads)
    base, queries, gt = load_eval_set(root)
    d = base.shape[1]
    for cfg in configs:
        index = faiss.index_factory(d, cfg, metric)
        t0 = time.time()
        index.train(base)
        t1 = time.time()
        index.add(base)
        t2 = time.time()
        _, ids = index.search(queries, 10)
        t3 = time.time()
        recall = float(np.mean([len(set(ids[i]) & set(gt[i])) / 10 for i in range(len(gt))]))
        codes = index.sa_encode(base)
        recon = index.sa_decode(codes)
        mse = float(((recon - base) ** 2).sum(axis=1).mean())
        print(json.dumps({
            "system": "faiss", "version": faiss.__version__, "config": cfg, "metric": metric_name,
            "threads": threads, "recall10": recall, "mse": mse,
            "train_s": t1 - t0, "add_s": t2 - t1, "search_s": t3 - t2,
        }), flush=True)


if __name__ == "__main__":
    main()
