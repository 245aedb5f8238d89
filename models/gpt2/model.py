"""`GPT2Config` and `GPT2Model`: a keras-nlp `GPT2CausalLM` that scores, generates and serves as a backbone."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import keras
import numpy as np
from keras import ops

from lmzoo.errors import LmzooError
from lmzoo.models import sampling, window_lm
from lmzoo.models.gpt2.tokenizer import BPETokenizer, ZooIdsBPETokenizer


@dataclass(frozen=True)
class GPT2Config:
    """How a loaded GPT-2 is used (its architecture comes from the preset).

    Attributes:
        source: the keras-hub preset name or local preset directory it is loaded from
            (named `source` so as not to clash with the zoo's "quick"/"default" presets).
        stride: tokens scored per rolling window; None means half the context, so every
            token is predicted with at least half a context of history.
        batch_size: windows per forward pass when scoring.
        seed: default seed for sampling when `generate` gets none.
    """

    source: str = "gpt2_base_en"
    stride: int | None = None
    batch_size: int = 4
    seed: int = 0

    def validate(self) -> None:
        if self.stride is not None and self.stride < 1:
            raise LmzooError(f"stride={self.stride} must be >= 1")
        if self.batch_size < 1:
            raise LmzooError(f"batch_size={self.batch_size} must be >= 1")



class GPT2Model:
    """A keras-nlp `GPT2CausalLM` behind the zoo's LanguageModel and Generator protocols.

    Example:
        >>> import tempfile
        >>> from lmzoo.models.gpt2 import load_preset, make_tiny_preset
        >>> model = load_preset(str(make_tiny_preset(tempfile.mkdtemp(), "the cat sat on the mat")))
        >>> len(model.generate("the", max_length=5, num_return_sequences=2, sampler="top_k"))
        2
    """

    family = "gpt2"

    def __init__(self, causal_lm: Any, tokenizer: BPETokenizer, config: GPT2Config):
        self.causal_lm, self.tokenizer, self.config = causal_lm, tokenizer, config
        self.context = int(causal_lm.backbone.max_sequence_length)
        self._scorer = None
        self._sampler_key: tuple | None = None

    def num_params(self) -> int:
        return int(self.causal_lm.count_params())

    def logits(self, token_ids: np.ndarray, padding_mask: np.ndarray | None = None) -> np.ndarray:
        """Next-token logits, (batch, time, vocabulary), for a batch of id rows."""
        token_ids = np.asarray(token_ids, dtype=np.int32)
        if padding_mask is None:
            padding_mask = np.ones_like(token_ids, dtype=bool)
        out = self.causal_lm({"token_ids": token_ids, "padding_mask": np.asarray(padding_mask, dtype=bool)})
        return np.asarray(out, dtype=np.float32)

    def _target_log_probs(self, token_ids: np.ndarray, padding_mask: np.ndarray, targets: np.ndarray) -> np.ndarray:
        """log p(targets[:, j] | token_ids[:, :j+1]) without handing (batch, time, 50257) logits to numpy."""
        if self._scorer is None:
            def score(ids, mask, tgt):
                logits = ops.cast(self.causal_lm({"token_ids": ids, "padding_mask": mask}), "float32")
                picked = ops.squeeze(ops.take_along_axis(logits, ops.expand_dims(tgt, -1), axis=-1), -1)
                return picked - ops.logsumexp(logits, axis=-1)

            # Compiled once per window shape on TensorFlow; eager elsewhere.
            if keras.config.backend() == "tensorflow":
                import tensorflow as tf

                score = tf.function(score, reduce_retracing=True)
            self._scorer = score
        out = self._scorer(token_ids.astype(np.int32), padding_mask, targets.astype(np.int32))
        return np.asarray(out, dtype=np.float64)

    def token_log_probs(self, ids: Sequence[int]) -> np.ndarray:
        """log p(ids[i] | ids[:i]) in nats, float64, in rolling windows of the model's context
        (`window_lm.rolling_log_probs`); the first id is predicted from `<|endoftext|>`, GPT-2's start."""
        length = self.context

        def score(x: Any, y: Any) -> np.ndarray:
            x, y = ops.convert_to_numpy(x), ops.convert_to_numpy(y)
            return self._target_log_probs(x, np.ones(x.shape, dtype=bool), y)

        return window_lm.rolling_log_probs(score, ids, context=length, stride=min(self.config.stride or length // 2, length),
                                           batch_size=self.config.batch_size, start_id=self.tokenizer.start_token_id)

    def _use_sampler(self, sampler: str, seed: int, temperature: float, top_k: int | None,
                     top_p: float | None, num_beams: int) -> None:
        """Compile the sampler into the task once per option set; re-seed it for every call.

        `compile` throws away the traced generate function, so it only runs when the options change;
        resetting the seed generator's state makes a seeded call reproducible without a retrace.
        """
        key = (sampler, temperature, top_k, top_p, num_beams)
        if self._sampler_key != key:
            self.causal_lm.compile(sampler=sampling.keras_sampler(sampler, seed=seed, temperature=temperature, top_k=top_k,
                                                                  top_p=top_p, num_beams=num_beams))
            self._sampler_key = key
        generator = getattr(self.causal_lm.sampler, "seed_generator", None)
        if generator is not None:
            generator.state.assign(keras.random.SeedGenerator(seed).state.value)

    def next_log_probs(self, prefix: Sequence[int]) -> np.ndarray:
        """log p(next | prefix) over the vocabulary by one full forward pass over the last context ids.

        The uncached path: beam search with several returns decodes with it, and it checks that
        the cached `generate_ids` gives the same tokens.
        """
        window = np.asarray(list(prefix)[-self.context :] or [self.tokenizer.start_token_id], dtype=np.int64)[None]
        logits = self.logits(window)[0, -1].astype(np.float64)
        return logits - (logits.max() + np.log(np.exp(logits - logits.max()).sum()))

    def generate_ids(
        self,
        prompt: str,
        *,
        max_length: int = 64,
        num_return_sequences: int = 1,
        sampler: str = "greedy",
        seed: int | None = None,
        temperature: float = 1.0,
        top_k: int | None = None,
        top_p: float | None = None,
        num_beams: int = 4,
        length_penalty: float = 1.0,
    ) -> list[list[int]]:
        """The new BPE ids of each continuation (at most `max_length`, `<|endoftext|>` removed).

        Uses keras-nlp's samplers over the model's key/value cache. A prompt that does not fit
        beside `max_length` new tokens in the context is truncated from the left (the most
        recent tokens are kept). Beam search with `num_return_sequences > 1` uses the zoo's
        `sampling.beam_search` (keras-nlp's BeamSampler returns one sequence per prompt).

        Example:
            model.generate_ids("The", max_length=8, num_return_sequences=2, sampler="top_k")
            # -> two lists of at most 8 ids each
        """
        checked = sampling.check_sampling_options(
            sampler, num_return_sequences=num_return_sequences, max_new_tokens=max_length,
            vocabulary_size=self.tokenizer.vocabulary_size(), temperature=temperature, top_k=top_k, top_p=top_p,
            num_beams=num_beams,
        )
        temperature, top_k, num_beams = checked["temperature"], checked.get("top_k"), checked["num_beams"]
        if max_length == 0:
            return [[] for _ in range(num_return_sequences)]
        if max_length >= self.context:
            raise LmzooError(f"max_length={max_length} leaves no room for the prompt in GPT-2's context of "
                             f"{self.context} tokens", f"ask for at most {self.context - 1} new tokens")
        end = self.tokenizer.end_token_id
        prompt_ids = [self.tokenizer.start_token_id, *self.tokenizer.encode(prompt)]
        prompt_ids = prompt_ids[-(self.context - max_length) :]
        seed = self.config.seed if seed is None else seed
        if sampler == "beam" and num_return_sequences > 1:
            news = sampling.beam_search(self.next_log_probs, prompt_ids, num_beams=num_beams,
                                        max_new_tokens=max_length, eos_id=end, length_penalty=length_penalty,
                                        num_return_sequences=num_return_sequences)
        else:
            # Greedy and beam give one answer per prompt: compute it once.
            rows = 1 if sampler in ("greedy", "beam") else num_return_sequences
            total = len(prompt_ids) + max_length
            # Unfilled positions must not hold the stop token, or generation ends before it starts.
            token_ids = np.full((rows, total), 1 if end == 0 else 0, dtype=np.int32)
            token_ids[:, : len(prompt_ids)] = prompt_ids
            mask = np.zeros((rows, total), dtype=bool)
            mask[:, : len(prompt_ids)] = True
            self._use_sampler(sampler, seed, temperature, top_k, top_p, num_beams)
            out = self.causal_lm.generate({"token_ids": token_ids, "padding_mask": mask}, stop_token_ids=[end])
            ids = np.asarray(out["token_ids"])[:, len(prompt_ids) :]
            keep = np.asarray(out["padding_mask"])[:, len(prompt_ids) :]
            news = [row[k].tolist() for row, k in zip(ids, keep, strict=True)]
            news = (news * num_return_sequences)[:num_return_sequences]
        return [new[: new.index(end)] if end in new else new for new in news]

    def generate(self, prompt: str, *, max_length: int = 64, num_return_sequences: int = 1,
                 sampler: str = "greedy", seed: int | None = None, **sampler_options: Any) -> list[str]:
        """Continue `prompt` with up to `max_length` new BPE tokens, stopping at `<|endoftext|>`.

        Options as in `generate_ids` (temperature, top_k, top_p, num_beams, length_penalty).
        Returns only the continuations; a character cut by `max_length` is dropped, never
        shown as U+FFFD.

        Example:
            model.generate("The", max_length=8, num_return_sequences=3, sampler="top_p", top_p=0.9)
        """
        news = self.generate_ids(prompt, max_length=max_length, num_return_sequences=num_return_sequences,
                                 sampler=sampler, seed=seed, **sampler_options)
        return ["".join(self.tokenizer.decode_stream(new)) for new in news]

    def backbone(self) -> keras.Model:
        """The Backbone protocol: GPT-2's final-norm states, reading zoo ids; weights shared with this model."""
        return ZooIdsGPT2Backbone(self.causal_lm.backbone, end_token_id=self.tokenizer.end_token_id)

    def backbone_tokenizer(self) -> ZooIdsBPETokenizer:
        """The OwnIdsBackbone protocol: this model's BPE with ids moved past the zoo's four specials."""
        return ZooIdsBPETokenizer.from_bpe(self.tokenizer)

    def save_preset(self, directory: str | Path) -> Path:
        """Write model and tokenizer as a keras-hub preset directory that `load_preset` reads."""
        directory = Path(directory)
        self.causal_lm.save_to_preset(str(directory))
        self.tokenizer.layer.save_to_preset(str(directory))
        return directory

    def __repr__(self) -> str:
        return f"GPT2Model(source={self.config.source!r}, params={self.num_params():,})"




@keras.saving.register_keras_serializable(package="lmzoo")
class ZooIdsGPT2Backbone(keras.Model):
    """A keras-nlp `GPT2Backbone` that reads zoo ids: (batch, time) padded with 0 → (batch, time, hidden).

    Ids from 4 up are GPT-2's ids plus 4 (`ZooIdsBPETokenizer`); `<s>` and `</s>` become
    `<|endoftext|>`, GPT-2's own start and end; `<pad>` (0) is masked out of attention. It wraps
    the pre-trained backbone (no copy): training it changes the GPT-2's weights.

    Example:
        >>> from lmzoo.models.gpt2.presets import build_tiny_gpt2
        >>> causal_lm = build_tiny_gpt2("the cat sat on the mat", vocabulary_size=300, max_sequence_length=16)
        >>> end = causal_lm.backbone.vocabulary_size - 1  # <|endoftext|>, last as in GPT-2
        >>> tuple(ZooIdsGPT2Backbone(causal_lm.backbone, end_token_id=end)(np.array([[2, 70, 80, 0]])).shape)
        (1, 4, 32)
    """

    causal = True

    def __init__(self, backbone: keras.Model, end_token_id: int, **kwargs: Any):
        super().__init__(**kwargs)
        self.backbone, self.end_token_id = backbone, int(end_token_id)
        self.context = int(backbone.max_sequence_length)

    def call(self, ids: Any, training: bool | None = None) -> Any:
        shift = ZooIdsBPETokenizer.SHIFT
        gpt2_ids = ops.where(ops.greater_equal(ids, shift), ids - shift, self.end_token_id)
        return self.backbone({"token_ids": gpt2_ids, "padding_mask": ops.not_equal(ids, 0)}, training=training)

    def get_config(self) -> dict:
        return {**super().get_config(), "end_token_id": self.end_token_id,
                "backbone": keras.saving.serialize_keras_object(self.backbone)}

    @classmethod
    def from_config(cls, config: dict) -> ZooIdsGPT2Backbone:
        import keras_nlp  # noqa: F401  (registers GPT2Backbone, which the saved config names)

        config = dict(config)
        return cls(keras.saving.deserialize_keras_object(config.pop("backbone")), **config)
