"""`Word2VecConfig` and its presets, shared by the Keras and the gensim family."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from lmzoo.config import require_at_least_one
from lmzoo.errors import LmzooError

if TYPE_CHECKING:
    pass

EXPORT_FORMATS = ("word2vec", "word2vec-binary", "projector")
CHUNK_TOKENS = 32768  # tokens turned into pairs at a time: bounds the pipeline's memory
# gensim's MAX_WORDS_IN_BATCH: it silently ignores the words of one text past this many.
MAX_SENTENCE_WORDS = 10_000

@dataclass(frozen=True)
class Word2VecConfig:
    """Hyper-parameters shared by the Keras and the gensim family (gensim's names in brackets).

    Example:
        >>> Word2VecConfig(arch="cbow", window=2).window
        2
    """

    arch: Literal["skipgram", "cbow"] = "skipgram"  # [sg]
    dimension: int = 100  # [vector_size]
    window: int = 5  # largest distance between centre and context [window]
    negatives: int = 5  # noise words per positive pair [negative]
    ns_exponent: float = 0.75  # noise distribution: unigram ** ns_exponent [ns_exponent]
    sample: float = 1e-3  # subsampling threshold t; 0 keeps every word [sample]
    min_count: int = 5  # words seen fewer times are dropped [min_count]
    lowercase: bool = True  # WordSim353/SimLex-999 are lower case
    epochs: int = 5  # [epochs]
    # Centre occurrences (windows) per step: about 5 skip-gram pairs each with window 5 and
    # subsampling. The loss is a sum, so this is how many per-pair updates pile up in one step:
    # on PTB, WordSim353 over seeds 0-2 was 0.166 at 256 and 0.161 at 1,024 (gensim ~0.17).
    batch_size: int = 256
    learning_rate: float = 0.025  # per-pair SGD step at the start [alpha]
    min_learning_rate: float = 1e-4  # reached at the end, linearly [min_alpha]
    jit_compile: bool = True  # XLA-compile the Keras step
    steps_per_execution: int = 50  # steps per compiled call (fewer on a small corpus)
    workers: int = 2  # gensim's threads, > 1 is not reproducible (the Keras family ignores it)
    distribute: Literal["none", "mirrored", "multi-worker"] = "none"  # Keras family: lmzoo.models.distribute
    seed: int = 0

    def validate(self) -> None:
        if self.window < 1:
            raise LmzooError(f"window={self.window} must be >= 1", "the window is how many words each side count as context; try --set window=5")
        require_at_least_one(self, ("dimension", "negatives", "min_count", "epochs", "batch_size", "steps_per_execution", "workers"))
        if not 0 <= self.sample < 1:
            raise LmzooError(f"sample={self.sample} must be in [0, 1)", "gensim's default is 1e-3; 0 turns subsampling off")
        if not 0 < self.min_learning_rate <= self.learning_rate:
            raise LmzooError(f"need 0 < min_learning_rate ({self.min_learning_rate}) <= learning_rate ({self.learning_rate})")


PRESETS = {
    # lee (~48k training words): about 3 s.
    "quick": Word2VecConfig(dimension=32, epochs=3, min_count=3),
    # lee with the published setting (dim 100, window 5, 5 negatives); lee is small, so many
    # epochs and min_count 2 (WordSim353 OOV 68% instead of 79% at 3). About 8 s on 2 busy cores.
    "default": Word2VecConfig(dimension=100, epochs=30, min_count=2),
}


