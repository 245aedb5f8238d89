"""The fine-tuning configuration (`FinetuneConfig`, settable with `--set key=value`) and its presets."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Literal

from lmzoo.config import require_at_least_one
from lmzoo.errors import LmzooError

MODEL_FILE = "task.keras"
FAMILY_NAME = "finetuned"


@dataclass(frozen=True)
class FinetuneConfig:
    """How a pre-trained run is fine-tuned (every field settable with `--set key=value`).

    Args:
        task, architecture: "classify" or "translate"; a translator is "decoder_only" (the run's causal
            network) or "encoder_decoder" (`AttentionTranslator`).
        direction: "reverse" translates target → source.
        init: "pretrained", or "scratch" (the same architecture, fresh weights: the baseline).
        freeze, pooling, dropout: classification: train only the head (with "cnn", its convolutions too);
            "mean", "last" or "cnn" (Kim 2014's convolutions, max over time) pooling; the head's dropout.
        learning_rate, min_learning_rate: Adam's rate; translation may decay it (cosine) to the minimum.
        backbone_learning_rate: the backbone's own rate (None: `learning_rate` for every weight).
        source_tokenizer, source_min_count: the encoder–decoder's source side: the run's tokenizer
            ("shared"), or a new "char"/"word" one fitted on the training sources.
        hidden_dim, num_layers, embedding_dim: the encoder–decoder's GRUs (an LM start needs the LM's).
        batch_size, epochs, steps: the budget; `steps` replaces `epochs` when set.
        max_examples: a seeded subsample of the labelled training examples (None: all).
        context: tokens per example (decoder-only: source, separator and target together; at most the
            pre-trained network's own context). Was `max_length`.
        max_new_tokens: the longest translation.
        max_unknown_rate: the largest share of `<unk>` in the task text for which the tokenizer fits.
        checkpoint_every_n_steps, seed: resumable chunks; weights and shuffling.

    Example:
        >>> FinetuneConfig(task="classify", freeze=True).freeze
        True
    """

    task: Literal["classify", "translate"] = "classify"
    architecture: Literal["decoder_only", "encoder_decoder"] = "decoder_only"  # translation only
    direction: Literal["forward", "reverse"] = "forward"  # reverse: translate target → source
    init: Literal["pretrained", "scratch"] = "pretrained"  # scratch: same architecture, fresh weights
    freeze: bool = False  # classification: train only the head
    pooling: Literal["auto", "mean", "last", "cnn"] = "auto"  # auto: mean (every backbone has it)
    dropout: float = 0.1
    learning_rate: float = 1e-3
    # translation: cosine decay from learning_rate to this over the run (None: constant learning_rate)
    min_learning_rate: float | None = None
    backbone_learning_rate: float | None = None  # None: learning_rate for every weight
    # encoder-decoder: "shared" reads the source with the pre-trained run's tokenizer; "char" or "word"
    # fits a new one on the training split's sources (the target side keeps the run's tokenizer)
    source_tokenizer: Literal["shared", "char", "word"] = "shared"
    source_min_count: int = 1  # a new source tokenizer's rarest kept token
    hidden_dim: int = 256  # encoder-decoder GRU width
    num_layers: int = 1  # encoder-decoder GRU layers on each side (an LM start needs the LM's count)
    embedding_dim: int = 128  # encoder-decoder embeddings (a pre-trained table sets its own)
    batch_size: int = 32
    epochs: float = 4.0
    steps: int | None = None  # training steps, in place of `epochs` (e.g. what a time budget allows)
    max_examples: int | None = None  # labelled training examples used (seeded subsample; None: all)
    context: int = 64  # tokens per example (decoder-only: source, separator and target together)
    max_new_tokens: int = 48  # translation output
    max_unknown_rate: float = 0.5  # above this share of <unk> in the task text, the tokenizer does not fit
    checkpoint_every_n_steps: int = 100
    seed: int = 0
    RENAMED: ClassVar[dict[str, str]] = {"max_length": "context"}  # runs fine-tuned before the rename

    def validate(self) -> None:
        require_at_least_one(self, ("batch_size", "context", "max_new_tokens", "checkpoint_every_n_steps", "hidden_dim",
                     "embedding_dim", "num_layers"))
        if self.steps is not None and self.steps < 1:
            raise LmzooError(f"steps={self.steps} must be >= 1 or None (None: train `epochs` passes)")
        if self.epochs <= 0 or self.learning_rate <= 0:
            raise LmzooError(f"epochs={self.epochs} and learning_rate={self.learning_rate} must be > 0")
        if self.min_learning_rate is not None and not 0 <= self.min_learning_rate <= self.learning_rate:
            raise LmzooError(f"min_learning_rate={self.min_learning_rate} must be in [0, learning_rate]")
        if self.min_learning_rate is not None and self.task != "translate":
            raise LmzooError(f"min_learning_rate={self.min_learning_rate} is for translation only", "drop it")
        if self.backbone_learning_rate is not None and self.backbone_learning_rate <= 0:
            raise LmzooError(f"backbone_learning_rate={self.backbone_learning_rate} must be > 0 or None")
        if not 0 <= self.dropout < 1:
            raise LmzooError(f"dropout={self.dropout} must be in [0, 1)")
        if self.max_examples is not None and self.max_examples < 2:
            raise LmzooError(f"max_examples={self.max_examples} must be >= 2 or None")
        if self.source_tokenizer != "shared" and (self.task, self.architecture) != ("translate", "encoder_decoder"):
            raise LmzooError(f"source_tokenizer={self.source_tokenizer!r} is for the encoder-decoder translator only",
                             "drop it, or set task='translate' architecture='encoder_decoder'")
        if self.source_min_count < 1:
            raise LmzooError(f"source_min_count={self.source_min_count} must be >= 1")
        if self.freeze and self.init == "scratch":
            raise LmzooError("freeze=True with init='scratch' would train a head on random features",
                             "drop one of them")


PRESETS = {
    "quick": FinetuneConfig(epochs=2.0, batch_size=16, checkpoint_every_n_steps=20, hidden_dim=32, embedding_dim=16,
                            context=48, max_new_tokens=16),
    "default": FinetuneConfig(),
}

