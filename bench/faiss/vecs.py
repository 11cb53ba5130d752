"""TEXMEX .fvecs/.ivecs readers for the FAISS cross-check scripts (numpy only)."""
import numpy as np


def read_vecs(path, dtype):
    raw = np.fromfile(path, dtype=np.int32)
    if raw.size == 0:
        return np.zeros((0, 0), dtype=dtype)
    d = int(raw[0])
    rows = raw.reshape(-1, d + 1)
    return np.ascontiguousarray(rows[:, 1:]).view(dtype)


def fvecs(path):
    return read_vecs(path, np.float32)


def ivecs(path):
    return read_vecs(path, np.int32)


def load_eval_set(root, k=10):
    """base, queries (both L2-normalised in place: the angular metric as L2 on unit vectors)
    and the top-k ground truth of a dataset folder written by vqlite (base.fvecs, query.fvecs,
    groundtruth.ivecs)."""
    import faiss  # noqa: PLC0415 (only the FAISS scripts call this)
    import os  # noqa: PLC0415

    base = fvecs(os.path.join(root, "base.fvecs"))
    queries = fvecs(os.path.join(root, "query.fvecs"))
    gt = ivecs(os.path.join(root, "groundtruth.ivecs"))[:, :k]
    faiss.normalize_L2(base)
    faiss.normalize_L2(queries)
    return base, queries, gt
