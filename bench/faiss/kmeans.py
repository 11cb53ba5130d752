"""FAISS k-means on one thread, for the k-means comparison in bench/kmeans-vs-faiss.ts.

Usage: OPENBLAS_NUM_THREADS=1 /usr/bin/python3 bench/faiss/kmeans.py DATA.fvecs K NITER SEED OUT_CENTROIDS.fvecs
Prints one JSON line: time, the objective after each iteration (FAISS's own, at each
assignment step), and writes the final centroids as .fvecs.
"""
import json
import os
import sys
import time

import faiss
import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
from vecs import fvecs  # noqa: E402


def main():
    path, k, niter, seed, out = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
    faiss.omp_set_num_threads(1)
    x = fvecs(path)
    n, d = x.shape
    km = faiss.Kmeans(d, k, niter=niter, seed=seed, verbose=False)
    t0 = time.time()
    km.train(x)
    elapsed = time.time() - t0
    c = km.centroids.astype(np.float32)
    rows = np.empty((k, d + 1), dtype=np.int32)
    rows[:, 0] = d
    rows[:, 1:] = c.view(np.int32)
    rows.tofile(out)
    print(json.dumps({
        "system": "faiss", "version": faiss.__version__, "n": n, "d": d, "k": k, "niter": niter,
        "seconds": elapsed, "objectives": [float(v) for v in km.obj],
        "blas": os.path.realpath("/usr/lib/x86_64-linux-gnu/libblas.so.3"),
        "omp_threads": faiss.omp_get_max_threads(),
    }), flush=True)


if __name__ == "__main__":
    main()
