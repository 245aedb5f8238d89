"""One GRU encoder–decoder with attention, shared by the seq2seq autoencoder and the translator.

`GRUEncoderDecoder` holds what both networks do the same way: embed the source, run a stack of GRU
encoders (a `Bidirectional` one too) under the padding mask, start each decoder layer from the
final state of the encoder layer at its depth, and decode either a whole teacher-forced sequence
(`decode`) or one token for every row (`decode_step`, one GRU cell step per layer; `next_token_step`
is the cached stepper that `lmzoo.models.sampling.generate_batch` drives). A subclass names its
layers and writes its output head (`output_logits`: attention over the encoder states, the logits).
`AdditiveAttention` is Bahdanau's scorer with learned query and key projections.

References: Cho et al. 2014 (GRU encoder–decoder); Sutskever et al. 2014; Bahdanau et al. 2015
(additive attention).

Example:
    >>> import numpy as np
    >>> layer = AdditiveAttention(8)
    >>> keys = layer.project_keys(np.ones((2, 5, 4), "float32"))
    >>> ctx, w = layer(np.ones((2, 3), "float32"), keys, np.ones((2, 5, 6), "float32"), np.ones((2, 5), bool))
    >>> tuple(ctx.shape), tuple(w.shape)
    ((2, 6), (2, 5))
"""

from __future__ import annotations

from typing import Any

import keras
import numpy as np
from keras import ops

from lmzoo.datasets.tokenizers import BOS, PAD


@keras.saving.register_keras_serializable(package="lmzoo")
class AdditiveAttention(keras.layers.Layer):
    """Bahdanau attention: score(q, k_s) = vᵀ tanh(W_q q + W_k k_s), softmax over source positions.

    `call(query, keys, values, mask)` takes a query of shape (batch, d) or (batch, time, d), keys
    (batch, source, d_k) already projected by `project_keys`, values (batch, source, d_v) and a
    boolean source mask; it returns the context and the weights (padding gets weight 0). Saved
    models name it `lmzoo>AdditiveAttention`, as when it lived in `lmzoo.models.seq2seq`.
    """

    def __init__(self, units: int, **kwargs: Any):
        super().__init__(**kwargs)
        self.units = units
        self.query_dense = keras.layers.Dense(units, use_bias=False, name="query")
        self.key_dense = keras.layers.Dense(units, name="key")
        self.score_dense = keras.layers.Dense(1, use_bias=False, name="score")

    def project_keys(self, keys: Any) -> Any:
        return self.key_dense(keys)

    def call(self, query: Any, keys: Any, values: Any, mask: Any) -> tuple[Any, Any]:
        q = self.query_dense(query)
        if len(query.shape) == 3:  # (B, T, A) against (B, S, A): every decoder step at once
            scores = self.score_dense(ops.tanh(q[:, :, None, :] + keys[:, None, :, :]))[..., 0]
            mask = mask[:, None, :]
        else:
            scores = self.score_dense(ops.tanh(q[:, None, :] + keys))[..., 0]
        scores = ops.where(mask, scores, ops.full_like(scores, -1e9))
        weights = ops.softmax(scores, axis=-1)
        if len(query.shape) == 3:
            return ops.matmul(weights, values), weights
        return ops.sum(weights[:, :, None] * values, axis=1), weights

    def get_config(self) -> dict:
        return {**super().get_config(), "units": self.units}


class GRUEncoderDecoder(keras.Model):
    """The shared encoder and decoder; a subclass creates the layers and writes `output_logits`.

    A subclass provides `source_embedding`, `target_embedding` (the same layer for an autoencoder),
    `encoder_layers()` and `decoder_layers()` (bottom first, as many of each), and
    `output_logits(hidden, memory) -> (logits, attention weights or None)` for decoder states of
    shape (batch, d) or (batch, time, d). The memory is the dict `encode` returns: the top layer's
    `states`, every layer's `finals`, the source `mask` and `embedded` source, plus whatever
    `attend_over(memory)` adds (attention keys and values, computed once per source).
    """

    def encoder_layers(self) -> list[keras.layers.Layer]:
        raise NotImplementedError

    def decoder_layers(self) -> list[keras.layers.GRU]:
        raise NotImplementedError

    def attend_over(self, memory: dict) -> dict:
        return memory

    def output_logits(self, hidden: Any, memory: dict) -> tuple[Any, Any]:
        raise NotImplementedError

    def encode(self, source: Any) -> dict:
        """Encode (batch, source) ids; `finals[i]` is layer i's final state (a bidirectional one's two joined)."""
        source = ops.cast(source, "int32")
        mask = ops.not_equal(source, PAD)
        embedded = self.source_embedding(source)
        states, finals = embedded, []
        for layer in self.encoder_layers():
            states, *final = layer(states, mask=mask)
            finals.append(ops.concatenate(final, axis=-1) if len(final) > 1 else final[0])
        return self.attend_over({"states": states, "finals": finals, "mask": mask, "embedded": embedded})

    def decode(self, inputs: Any, initial: list[Any], memory: dict) -> tuple[Any, list[Any]]:
        """Teacher-forced logits (batch, time, vocabulary) for decoder `inputs` from per-layer `initial`
        states, and each layer's final state."""
        hidden, finals = self.target_embedding(ops.cast(inputs, "int32")), []
        for layer, start in zip(self.decoder_layers(), initial, strict=True):
            hidden, final = layer(hidden, initial_state=start)
            finals.append(final)
        return self.output_logits(hidden, memory)[0], finals

    def decode_step(self, tokens: Any, state: list[Any], memory: dict | None) -> tuple[Any, list[Any], Any]:
        """One decoder step for `tokens` (batch,): logits (batch, vocabulary), the new per-layer states and
        the attention weights (batch, source) or None."""
        hidden, new = self.target_embedding(ops.cast(tokens, "int32")), []
        for layer, previous in zip(self.decoder_layers(), state, strict=True):
            hidden, _ = layer.cell(hidden, previous)
            new.append(hidden)
        logits, weights = self.output_logits(hidden, memory)
        return logits, new, weights

    def next_token_step(self, memory: dict | None, batch_size: int, weights: list | None = None) -> Any:
        """A stepper for `lmzoo.models.sampling.generate_batch`: `<s>` first, then the chosen tokens, one
        `decode_step` each (the state is the list of per-layer decoder states). Each step's attention
        weights are appended to `weights` when a list is given."""
        def step(tokens: np.ndarray | None, state: list[Any]) -> tuple[np.ndarray, list[Any]]:
            tokens = np.full(batch_size, BOS, np.int32) if tokens is None else np.asarray(tokens, np.int32)
            logits, state, attention = self.decode_step(tokens, state, memory)
            if weights is not None and attention is not None:
                weights.append(ops.convert_to_numpy(attention))
            return ops.convert_to_numpy(logits), state

        return step
