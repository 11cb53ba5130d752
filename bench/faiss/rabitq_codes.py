"""FAISS 1.15 IndexRaBitQ codes of the first N base vectors of a dataset folder (issue 16 code parity).

Usage: PYTHONPATH=/root/.cache/vqlite-faiss/py /usr/bin/python3 bench/faiss/rabitq_codes.py DATASET_DIR N NBITS [NBITS ...]
Reads base.fvecs, L2-normalises the first N rows, trains "RaBitQ<b>" (no rotation: FAISS's
IndexRaBitQ centres on the mean and codes x - mean) on them, and prints one JSON line per
nbits: the code size and the N codes (sa_encode) as base64.
"""
import base64
import json
import os
import sys

import faiss

sys.path.insert(0, os.path.dirname(__file__))
from vecs import fvecs  # noqa: E402


def main():
    root, n = sys.argv[1], int(sys.argv[2])
    base = fvecs(os.path.join(root, "base.fvecs"))[:n].copy()
    faiss.normalize_L2(base)
    d = base.shape[1]
    for nb in [int(v) for v in sys.argv[3:]]:
        index = faiss.index_factory(d, "RaBitQ" if nb == 1 else f"RaBitQ{nb}", faiss.METRIC_L2)
        index.train(base)
        codes = index.sa_encode(base)
        print(json.dumps({"nbits": nb, "code_size": int(index.code_size), "n": n,
                          "codes": base64.b64encode(codes.tobytes()).decode()}), flush=True)


if __name__ == "__main__":
    main()
