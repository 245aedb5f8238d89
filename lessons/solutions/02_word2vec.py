"""Solution to lesson 02's build-it exercise: the CBOW negative-sampling loss in NumPy (the mean of the
real context vectors predicts the centre word), checked with `lmzoo.lesson.check_cbow_loss` against the
library's `compute_loss`. The tests run this file (tests/test_lessons.py)."""

import numpy as np

from lmzoo.datasets.tokenizers import PAD
from lmzoo.lesson import check_cbow_loss


def log_sigmoid(x: np.ndarray) -> np.ndarray:
    return -np.logaddexp(0.0, -x)


def cbow_loss(V: np.ndarray, U: np.ndarray, contexts: np.ndarray, centres: np.ndarray, noise: np.ndarray) -> float:
    """Σ_rows -log σ(u_c · h) - Σ_n log σ(-u_n · h), with h the mean of the row's real context vectors."""
    real = (contexts != PAD)[:, :, None]
    h = (V[contexts] * real).sum(axis=1) / np.maximum(real.sum(axis=1), 1)
    true = np.einsum("bd,bd->b", U[centres], h)
    false = np.einsum("bkd,bd->bk", U[noise], h)
    return float(-(log_sigmoid(true) + log_sigmoid(-false).sum(axis=1)).sum())


check_cbow_loss(cbow_loss)
