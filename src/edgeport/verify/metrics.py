"""Elementwise and task metrics between a reference output and a test output."""

from __future__ import annotations

import numpy as np

__all__ = ["accuracy", "cosine", "max_abs", "max_rel", "mean_abs", "snr_db", "topk_agreement"]

_EPS = 1e-12


def _f64(a: np.ndarray) -> np.ndarray:
    return np.asarray(a, dtype=np.float64)


def max_abs(ref: np.ndarray, test: np.ndarray) -> float:
    return float(np.max(np.abs(_f64(ref) - _f64(test)))) if np.size(ref) else 0.0


def mean_abs(ref: np.ndarray, test: np.ndarray) -> float:
    return float(np.mean(np.abs(_f64(ref) - _f64(test)))) if np.size(ref) else 0.0


def max_rel(ref: np.ndarray, test: np.ndarray) -> float:
    """Max |ref-test| / max(|ref|, 1e-6·max|ref|) — relative error that ignores near-zero refs."""
    r, t = _f64(ref), _f64(test)
    if not r.size:
        return 0.0
    floor = max(1e-6 * float(np.max(np.abs(r))), _EPS)
    return float(np.max(np.abs(r - t) / np.maximum(np.abs(r), floor)))


def cosine(ref: np.ndarray, test: np.ndarray) -> float:
    """Mean per-sample cosine similarity (flattened per sample along the first axis)."""
    r = _f64(ref).reshape(len(ref), -1) if np.ndim(ref) > 1 else _f64(ref).reshape(1, -1)
    t = _f64(test).reshape(r.shape)
    num = np.sum(r * t, axis=1)
    den = np.linalg.norm(r, axis=1) * np.linalg.norm(t, axis=1)
    both_zero = den < _EPS
    cos = np.where(both_zero, np.where(np.linalg.norm(r - t, axis=1) < _EPS, 1.0, 0.0), num / np.maximum(den, _EPS))
    return float(np.mean(cos))


def snr_db(ref: np.ndarray, test: np.ndarray) -> float:
    """Signal-to-noise ratio of the test output in dB (inf when identical)."""
    r, t = _f64(ref), _f64(test)
    noise = float(np.sum((r - t) ** 2))
    signal = float(np.sum(r ** 2))
    if noise <= 0:
        return float("inf")
    if signal <= 0:
        return float("-inf")
    return float(10.0 * np.log10(signal / noise))


def topk_agreement(ref: np.ndarray, test: np.ndarray, k: int = 1) -> float | None:
    """Fraction of samples whose reference top-1 class is in the test top-k (None if not logits)."""
    r, t = np.asarray(ref), np.asarray(test)
    if r.ndim != 2 or r.shape[1] < 2 or r.shape[1] < k:
        return None
    ref_top = np.argmax(r, axis=1)
    test_topk = np.argsort(-t, axis=1, kind="stable")[:, :k]
    return float(np.mean(np.any(test_topk == ref_top[:, None], axis=1)))


def accuracy(logits: np.ndarray, labels: np.ndarray) -> float | None:
    out = np.asarray(logits)
    if out.ndim != 2 or out.shape[0] != len(labels) or np.asarray(labels).dtype.kind not in "iu":
        return None
    return float(np.mean(np.argmax(out, axis=1) == labels))
