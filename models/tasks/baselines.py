"""The baselines every neural task is compared with: counting (NB + logistic regression) and copy-the-source."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from lmzoo.datasets.tokenizers import VocabularyTokenizer
from lmzoo.errors import LmzooError


class CountingClassifier:
    """Naive Bayes log-count ratios on binary n-gram features, then L2 logistic regression (binary labels).

    With `naive_bayes=False` it is plain logistic regression on the binary counts.

    Example:
        >>> model = CountingClassifier().fit(["good fun", "bad dull", "fun film", "dull film"], ["pos", "neg", "pos", "neg"])
        >>> model.classify(["good film", "dull"])
        ['pos', 'neg']
    """

    family = "counting"

    def __init__(self, order: int = 2, naive_bayes: bool = True, alpha: float = 1.0, l2: float = 1.0):
        self.order, self.naive_bayes, self.alpha, self.l2 = order, naive_bayes, alpha, l2
        self.config = {"order": order, "naive_bayes": naive_bayes, "alpha": alpha, "l2": l2}
        self.tokenizer: VocabularyTokenizer | None = None
        self.features: dict[tuple[str, ...], int] = {}

    def _grams(self, text: str) -> set[tuple[str, ...]]:
        words = text.lower().split()
        return {tuple(words[i : i + n]) for n in range(1, self.order + 1) for i in range(len(words) - n + 1)}

    def _matrix(self, texts: Sequence[str]) -> Any:
        from scipy import sparse

        rows, cols = [], []
        for i, text in enumerate(texts):
            found = [self.features[g] for g in self._grams(text) if g in self.features]
            rows += [i] * len(found)
            cols += found
        return sparse.csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(len(texts), len(self.features)))

    def fit(self, texts: Sequence[str], labels: Sequence[str]) -> CountingClassifier:
        from scipy.optimize import minimize

        self.labels = tuple(sorted(set(labels)))
        if len(self.labels) != 2:
            raise LmzooError(f"CountingClassifier is binary; got {len(self.labels)} labels", "give two labels")
        from lmzoo.datasets.tokenizers import fit_tokenizer

        self.tokenizer = fit_tokenizer("word", "\n".join(texts), word_split="whitespace", lowercase=True)
        self.features = {g: i for i, g in enumerate(sorted(set().union(*map(self._grams, texts))))}
        x = self._matrix(texts)
        y = np.array([1.0 if label == self.labels[1] else -1.0 for label in labels])
        if self.naive_bayes:  # r = log((p / |p|) / (q / |q|)), p and q smoothed feature counts per class
            p = self.alpha + np.asarray(x[y > 0].sum(axis=0)).ravel()
            q = self.alpha + np.asarray(x[y < 0].sum(axis=0)).ravel()
            self.ratios = np.log(p / p.sum()) - np.log(q / q.sum())
        else:
            self.ratios = np.ones(x.shape[1])
        x = x.multiply(self.ratios).tocsr()
        n = len(y)

        def loss(params: np.ndarray) -> tuple[float, np.ndarray]:
            w, b = params[:-1], params[-1]
            margin = y * (x @ w + b)
            value = np.logaddexp(0, -margin).sum() / n + self.l2 / (2 * n) * w @ w
            slope = -y * np.exp(-np.logaddexp(0, margin)) / n  # d/dmargin, times y
            return value, np.append(x.T @ slope + self.l2 / n * w, slope.sum())

        result = minimize(loss, np.zeros(x.shape[1] + 1), jac=True, method="L-BFGS-B", options={"maxiter": 500})
        self.weights, self.bias = result.x[:-1], result.x[-1]
        return self

    def num_params(self) -> int:
        return len(self.features) + 1

    def classify(self, texts: Sequence[str]) -> list[str]:
        scores = self._matrix(texts).multiply(self.ratios).tocsr() @ self.weights + self.bias
        return [self.labels[int(s > 0)] for s in scores]


class CopyTranslator:
    """The translation baseline: the output is the source sentence, unchanged."""

    family = "copy"
    config: dict = {}
    tokenizer = None

    def __init__(self, source_language: str = "en", target_language: str = "zh"):
        self.source_language, self.target_language = source_language, target_language

    def num_params(self) -> int:
        return 0

    def translate(self, sentences: Sequence[str]) -> list[str]:
        return list(sentences)

