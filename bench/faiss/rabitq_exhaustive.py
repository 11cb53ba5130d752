"""FAISS 1.15 reference figures for the RaBitQ codecs (issue 16): exhaustive recall@k, no re-ranking.

Usage: PYTHONPATH=/root/.cache/vqlite-faiss/py /usr/bin/python3 bench/faiss/rabitq_exhaustive.py \
         DATASET_DIR [CONFIG ...]
DATASET_DIR holds base.fvecs, query.fvecs, groundtruth.ivecs (written by vqlite); base and
queries are L2-normalised (cosine as L2 on unit vectors). CONFIG is a FAISS factory string
(default: RaBitQ RaBitQ2 RaBitQ4 RaBitQ6 RaBitQ8; "RR<d>,RaBitQ4" adds FAISS's random rotation).
Env: RABITQ_QB (comma list of query bits, default "4"; 0 = float query), RABITQ_K (10),
RABITQ_NQ (queries used, default all), FAISS_THREADS (1). Prints one JSON line per (config, qb).
"""
import json
import os
import sys
import time

import faiss
import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
from vecs import fvecs, ivecs  # noqa: E402


def rabitq_of(index):
    """The IndexRaBitQ inside index (itself, or the last stage of an IndexPreTransform)."""
    if isinstance(index, faiss.IndexPreTransform):
        return faiss.downcast_index(index.index)
    return faiss.downcast_index(index)


def main():
    root = sys.argv[1]
    configs = sys.argv[2:] or ["RaBitQ", "RaBitQ2", "RaBitQ4", "RaBitQ6", "RaBitQ8"]
    qbs = [int(v) for v in os.environ.get("RABITQ_QB", "4").split(",")]
    k = int(os.environ.get("RABITQ_K", "10"))
    threads = int(os.environ.get("FAISS_THREADS", "1"))
    faiss.omp_set_num_threads(threads)
    base = fvecs(os.path.join(root, "base.fvecs"))
    queries = fvecs(os.path.join(root, "query.fvecs"))
    gt = ivecs(os.path.join(root, "groundtruth.ivecs"))[:, :k]
    nq = int(os.environ.get("RABITQ_NQ", str(len(queries))))
    queries = np.ascontiguousarray(queries[:nq])
    gt = gt[:nq]
    faiss.normalize_L2(base)
    faiss.normalize_L2(queries)
    d = base.shape[1]
    for cfg in configs:
        index = faiss.index_factory(d, cfg, faiss.METRIC_L2)
        t0 = time.time()
        index.train(base)
        t1 = time.time()
        index.add(base)
        t2 = time.time()
        inner = rabitq_of(index)
        for qb in qbs:
            inner.qb = qb
            t3 = time.time()
            _, ids = index.search(queries, k)
            t4 = time.time()
            recall = float(np.mean([len(set(ids[i]) & set(gt[i])) / k for i in range(nq)]))
            print(json.dumps({
                "system": "faiss", "version": faiss.__version__, "config": cfg, "qb": qb, "k": k,
                "nq": nq, "code_size": int(inner.code_size), "threads": threads,
                "recall": recall, "train_s": t1 - t0, "add_s": t2 - t1, "search_s": t4 - t3,
            }), flush=True)


if __name__ == "__main__":
    main()
