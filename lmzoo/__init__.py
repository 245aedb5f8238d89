"""keras-lmzoo: four generations of language models side by side, with one loader and one harness.

Example:
    >>> import lmzoo, tempfile
    >>> corpus = lmzoo.load_corpus("lee")
    >>> model = lmzoo.train("unigram", corpus, tempfile.mkdtemp())
    >>> round(lmzoo.evaluate(model, corpus)["bits_per_char"], 1) > 0
    True

Imports here stay light (no TensorFlow) so that `lmzoo --help` is instant.
"""

from lmzoo.datasets.corpus import Corpus, load_corpus
from lmzoo.errors import LmzooError
from lmzoo.families import FAMILIES, get_family, load, train

__version__ = "0.1.0"


def evaluate(model, corpus, split="test", **kwargs):
    """See `lmzoo.harness.evaluate` (imported lazily: it pulls in gensim)."""
    from lmzoo.harness import evaluate as _evaluate

    return _evaluate(model, corpus, split, **kwargs)


__all__ = ["FAMILIES", "Corpus", "LmzooError", "evaluate", "get_family", "load", "load_corpus", "train", "__version__"]
