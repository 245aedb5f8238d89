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

    Args:
        arch: "skipgram" or "cbow" [sg].
        dimension: size of the word vectors [vector_size].
        window: largest distance between centre and context; each centre draws its reach
            from 1..window [window].
        skipgram_rows: a skip-gram batch row is one input word (the centre) with the window it predicts,
            or one predicted word with the window of input words that predict it, as word2vec.c and gensim
            loop: each input vector then gets its own pair's update, not the sum of its window's.
        reach_of: whose drawn reach decides whether a (centre, context) pair is trained. word2vec.c and
            gensim draw it for the predicted word: the centre for CBOW and for skip-gram rows by
            predicted word; "context" gives skip-gram rows by input word those pairs.
        negatives: noise words per positive pair [negative].
        shared_noise: a window row's pairs share its `negatives` noise words (fewer rows to gather and
            scatter); False draws them per pair, as word2vec.c and gensim do.
        init_scale: input vectors start uniform in ±init_scale/dimension (word2vec.c 0.5, gensim 1).
        ns_exponent: the noise distribution is unigram ** ns_exponent [ns_exponent].
        sample: subsampling threshold t; 0 keeps every word [sample].
        min_count: words seen fewer times are dropped [min_count].
        lowercase: lower-case the text (WordSim353 and SimLex-999 are lower case).
        epochs: passes over the corpus [epochs].
        batch_size: centre occurrences (windows) per step, about 5 skip-gram pairs each at window
            5 with subsampling. The loss is a sum, so this is how many per-pair updates pile up in
            one step (benchmarks/results/NOTES.md, "word2vec", for 256 against 1,024).
        learning_rate: per-pair SGD step at the start [alpha].
        min_learning_rate: reached at the end, linearly [min_alpha].
        jit_compile: XLA-compile the Keras step (training fails if Keras turns it off).
        steps_per_execution: steps per compiled call (fewer on a small corpus).
        workers: gensim's threads; > 1 is not reproducible (the Keras family ignores it) [workers].
        distribute: the Keras family's data parallelism, see `lmzoo.models.distribute`.
        seed: seeds the vectors' initialisation, subsampling, windows and noise [seed].

    Example:
        >>> Word2VecConfig(arch="cbow", window=2).window
        2
    """

    arch: Literal["skipgram", "cbow"] = "skipgram"
    dimension: int = 100
    window: int = 5
    skipgram_rows: Literal["input", "predicted"] = "input"
    reach_of: Literal["centre", "context"] = "centre"
    negatives: int = 5
    shared_noise: bool = True
    init_scale: float = 0.5
    ns_exponent: float = 0.75
    sample: float = 1e-3
    min_count: int = 5
    lowercase: bool = True
    epochs: int = 5
    batch_size: int = 256
    learning_rate: float = 0.025
    min_learning_rate: float = 1e-4
    jit_compile: bool = True
    steps_per_execution: int = 50
    workers: int = 2
    distribute: Literal["none", "mirrored", "multi-worker"] = "none"
    seed: int = 0

    def validate(self) -> None:
        if self.window < 1:
            raise LmzooError(f"window={self.window} must be >= 1", "the window is how many words each side count as context; try --set window=5")
        require_at_least_one(self, ("dimension", "negatives", "min_count", "epochs", "batch_size", "steps_per_execution", "workers"))
        if self.skipgram_rows == "predicted" and not self.shared_noise:
            raise LmzooError("skipgram_rows=predicted draws k noise words per row, not per pair",
                             "drop shared_noise=false, or use skipgram_rows=input")
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
    # The race against gensim (benchmarks/word2vec.py: PTB, min_count 1; gensim's 5 epochs at 0.025). Batched
    # rows learn less per step than gensim's one pair at a time: at 0.025 WordSim353 was 0.166 against its
    # 0.176; at 0.05, 0.250 (3 seeds each; 0.1 diverges; SimLex-999 picks 0.05 too). Three epochs are the
    # fewest that reach gensim's WordSim353 within its training time (word2vec_ablation.json).
    "race": Word2VecConfig(dimension=100, epochs=3, min_count=1, learning_rate=0.05),
}


