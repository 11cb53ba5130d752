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
