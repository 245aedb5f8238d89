"""Transformer building blocks written from scratch in `keras.ops`, for teaching and for the LM.

Everything here runs on any Keras backend (TensorFlow by default, JAX too):
- `causal_bias`: the causal mask as the additive bias `b` of `A = softmax(QKᵀ/√d_k + b)`;
  `attention_weights` / `scaled_dot_product_attention`: that formula on (batch, heads, time, head_dim).
- `MultiHeadAttention`: heads as reshapes, output projection W^O; the call signature of
  `keras.layers.MultiHeadAttention` (a test proves they agree) plus a key/value cache for generation.
- `sinusoidal_positional_encoding` and `PositionalEmbedding` (sinusoidal or learned).
- `TransformerBlock`: a pre-LayerNorm decoder block (causal self-attention, GELU feed-forward
  network, residuals, dropout), GPT-2 style, with no cross-attention.

References: Vaswani et al. 2017 "Attention is all you need" (sections 3.2, 3.5); Radford et al.
2019 (GPT-2: LayerNorm before each sub-block); nanoGPT `model.py` (initialisation).

Example:
    >>> import numpy as np
    >>> x = np.random.default_rng(0).normal(size=(2, 4, 5, 8)).astype("float32")
    >>> out, weights = scaled_dot_product_attention(x, x, x, bias=causal_bias(5))
    >>> tuple(out.shape), float(weights[0, 0, 0, 1])
    ((2, 4, 5, 8), 0.0)
"""

from __future__ import annotations

import math
from typing import Any, Literal

import keras
import numpy as np
from keras import ops

from lmzoo.config import rename_keys
from lmzoo.errors import LmzooError

# Large enough that exp() underflows to exactly 0 in float32, small enough that adding two of
# them (causal bias plus a padding mask) stays finite, unlike -inf which gives NaN rows.
NEG_INF = -1e9


def _large_negative(dtype: str) -> float:
    """A number whose softmax weight is 0 in `dtype` without overflowing it."""
    return -3e4 if str(dtype) in ("float16", "bfloat16") else NEG_INF


def clone_initializer(initializer: Any) -> Any:
    """A new initializer from `initializer`'s config, for one weight.

    Keras 3 gives an unseeded initializer *instance* a fixed seed when it is created, so one
    instance shared by several layers gives them identical weights (Q = K = V, every block the
    same), which slows early training badly. Each weight therefore gets its own copy.

    Example:
        >>> init = keras.initializers.RandomNormal(stddev=0.02)
        >>> a, b = (ops.convert_to_numpy(clone_initializer(init)((3,))) for _ in range(2))
        >>> bool((a != b).all())
        True
    """
    initializer = keras.initializers.get(initializer)
    return type(initializer).from_config(initializer.get_config())


def causal_bias(length: int, dtype: str = "float32") -> Any:
    """The causal mask as an additive bias: 0 where key j <= query i, a large negative above.

    Args:
        length: number of positions (the matrix is length x length, query rows, key columns).
        dtype: float dtype of the result.

    Returns:
        A (length, length) tensor to add to the attention scores before the softmax.

    Example:
        >>> ops.convert_to_numpy(causal_bias(3))[0].tolist()
        [0.0, -1000000000.0, -1000000000.0]
    """
    allowed = np.tril(np.ones((length, length), dtype=bool))
    return ops.convert_to_tensor(np.where(allowed, 0.0, _large_negative(dtype)), dtype=dtype)


def causal_mask(query_length: Any, key_length: Any, offset: Any = 0) -> Any:
    """Boolean (query_length, key_length) mask, True where key j <= offset + query i.

    `offset` is the position of the first query (the cache index when decoding step by step).
    """
    rows = ops.arange(query_length, dtype="int32")[:, None] + ops.cast(offset, "int32")
    cols = ops.arange(key_length, dtype="int32")[None, :]
    return ops.greater_equal(rows, cols)


def attention_weights(query: Any, key: Any, bias: Any = None, mask: Any = None) -> Any:
    """softmax(QKᵀ/√d_k + b) over the key axis, computed in float32.

    Args:
        query: (batch, heads, query_time, head_dim).
        key: (batch, heads, key_time, head_dim).
        bias: optional additive bias broadcastable to (batch, heads, query_time, key_time).
        mask: optional boolean tensor broadcastable to the same shape; False = do not attend.

    Returns:
        float32 weights (batch, heads, query_time, key_time); each row sums to 1.

    Example:
        >>> q = np.ones((1, 1, 2, 4), "float32")
        >>> ops.convert_to_numpy(attention_weights(q, q, bias=causal_bias(2)))[0, 0].tolist()
        [[1.0, 0.0], [0.5, 0.5]]
    """
    query, key = ops.cast(query, "float32"), ops.cast(key, "float32")
    scale = 1.0 / math.sqrt(query.shape[-1])
    scores = ops.matmul(query * scale, ops.swapaxes(key, -1, -2))
    if bias is not None:
        scores = scores + ops.cast(bias, "float32")
    if mask is not None:
        scores = ops.where(ops.cast(mask, "bool"), scores, NEG_INF)
    return ops.softmax(scores, axis=-1)


def scaled_dot_product_attention(
    query: Any, key: Any, value: Any, bias: Any = None, mask: Any = None
) -> tuple[Any, Any]:
    """Scaled dot-product attention A·V with A = softmax(QKᵀ/√d_k + b).

    Args:
        query: (batch, heads, query_time, head_dim).
        key: (batch, heads, key_time, head_dim).
        value: (batch, heads, key_time, head_dim).
        bias: optional additive bias, e.g. `causal_bias(time)`.
        mask: optional boolean mask (True = attend), e.g. padding.

    Returns:
        (output (batch, heads, query_time, head_dim) in value's dtype, float32 weights).

    Example:
        >>> v = np.arange(8, dtype="float32").reshape(1, 1, 2, 4)
        >>> out, _ = scaled_dot_product_attention(v, v, v, bias=causal_bias(2))
        >>> ops.convert_to_numpy(out)[0, 0, 0].tolist()  # the first position sees only itself
        [0.0, 1.0, 2.0, 3.0]
    """
    weights = attention_weights(query, key, bias=bias, mask=mask)
    output = ops.matmul(ops.cast(weights, value.dtype), value)
    return output, weights


@keras.saving.register_keras_serializable(package="lmzoo")
class MultiHeadAttention(keras.layers.Layer):
    """Multi-head attention with heads as reshapes, and an optional key/value cache.

    Q, K and V are dense projections of width `num_heads * key_dim`, reshaped to
    (batch, heads, time, key_dim); each head runs `scaled_dot_product_attention`; the heads are
    reshaped back (concatenated) and projected by W^O to the query's width.

    With `cache` (batch, 2, max_length, heads, key_dim) and `cache_update_index`, the new keys
    and values are written into the cache at that index and the queries attend to the whole
    cache (causally), so decoding one token costs one position. It then returns
    `(output, cache)`.

    Args:
        num_heads: number of heads.
        key_dim: width of each head.
        dropout: dropout rate on the attention weights.
        use_bias: whether the projections have biases.
        output_dim: width of the output (default: the query's width).
        kernel_initializer: initializer of the Q, K, V projections.
        output_kernel_initializer: initializer of W^O (GPT-2 scales it down with depth).

    Example:
        >>> layer = MultiHeadAttention(num_heads=2, key_dim=4)
        >>> x = np.zeros((1, 3, 8), "float32")
        >>> tuple(layer(x, x, use_causal_mask=True).shape)
        (1, 3, 8)
    """

    def __init__(
        self,
        num_heads: int,
        key_dim: int,
        dropout: float = 0.0,
        use_bias: bool = True,
        output_dim: int | None = None,
        kernel_initializer: Any = "glorot_uniform",
        output_kernel_initializer: Any = None,
        **kwargs: Any,
    ):
        super().__init__(**kwargs)
        if num_heads < 1 or key_dim < 1:
            raise LmzooError(f"num_heads={num_heads} and key_dim={key_dim} must be >= 1")
        self.num_heads, self.key_dim, self.dropout = num_heads, key_dim, dropout
        self.use_bias, self.output_dim = use_bias, output_dim
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.output_kernel_initializer = keras.initializers.get(output_kernel_initializer or kernel_initializer)
        width = num_heads * key_dim
        dense = {"use_bias": use_bias, "dtype": self.dtype_policy}
        self.query_dense, self.key_dense, self.value_dense = (
            keras.layers.Dense(width, kernel_initializer=clone_initializer(self.kernel_initializer), name=name, **dense)
            for name in ("query", "key", "value")
        )
        self.dropout_layer = keras.layers.Dropout(dropout, dtype=self.dtype_policy)
        self.output_dense: keras.layers.Dense | None = None

    def build(self, query_shape: Any, value_shape: Any = None, key_shape: Any = None) -> None:
        value_shape = value_shape or query_shape
        key_shape = key_shape or value_shape
        self.query_dense.build(query_shape)
        self.key_dense.build(key_shape)
        self.value_dense.build(value_shape)
        self.output_dense = keras.layers.Dense(
            self.output_dim or query_shape[-1], use_bias=self.use_bias, name="attention_output",
            kernel_initializer=clone_initializer(self.output_kernel_initializer), dtype=self.dtype_policy,
        )
        self.output_dense.build((*query_shape[:-1], self.num_heads * self.key_dim))
        self.built = True

    def _split_heads(self, x: Any) -> Any:
        """(batch, time, heads * key_dim) -> (batch, time, heads, key_dim)."""
        return ops.reshape(x, (ops.shape(x)[0], ops.shape(x)[1], self.num_heads, self.key_dim))

    def call(
        self,
        query: Any,
        value: Any,
        key: Any = None,
        attention_mask: Any = None,
        use_causal_mask: bool = False,
        return_attention_scores: bool = False,
        cache: Any = None,
        cache_update_index: Any = None,
        training: bool | None = None,
    ) -> Any:
        key = value if key is None else key
        q = self._split_heads(self.query_dense(query))
        if cache is not None:
            # Write this step's keys/values at cache_update_index; attend over the whole cache.
            k_new, v_new = self._split_heads(self.key_dense(key)), self._split_heads(self.value_dense(value))
            start = [0, cache_update_index, 0, 0]
            k = ops.slice_update(cache[:, 0], start, ops.cast(k_new, cache.dtype))
            v = ops.slice_update(cache[:, 1], start, ops.cast(v_new, cache.dtype))
            cache = ops.stack([k, v], axis=1)
            offset = cache_update_index
        else:
            k, v = self._split_heads(self.key_dense(key)), self._split_heads(self.value_dense(value))
            offset = 0
        mask = None
        if attention_mask is not None:  # keras convention: (batch, query_time, key_time), True = attend
            mask = ops.expand_dims(ops.cast(attention_mask, "bool"), 1)
        if use_causal_mask:
            causal = causal_mask(ops.shape(q)[1], ops.shape(k)[1], offset)[None, None]
            mask = causal if mask is None else ops.logical_and(mask, causal)
        q, k, v = (ops.transpose(t, (0, 2, 1, 3)) for t in (q, k, v))  # heads before time
        weights = attention_weights(q, k, mask=mask)
        output = ops.matmul(ops.cast(self.dropout_layer(weights, training=training), v.dtype), v)
        output = ops.transpose(output, (0, 2, 1, 3))  # (batch, time, heads, key_dim)
        output = ops.reshape(output, (ops.shape(output)[0], ops.shape(output)[1], self.num_heads * self.key_dim))
        output = self.output_dense(output)  # concatenated heads times W^O
        if cache is not None:
            return output, cache
        if return_attention_scores:
            return output, weights
        return output

    def compute_output_shape(self, query_shape: Any, value_shape: Any = None, key_shape: Any = None) -> tuple:
        return (*query_shape[:-1], self.output_dim or query_shape[-1])

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "num_heads": self.num_heads,
            "key_dim": self.key_dim,
            "dropout": self.dropout,
            "use_bias": self.use_bias,
            "output_dim": self.output_dim,
            "kernel_initializer": keras.initializers.serialize(self.kernel_initializer),
            "output_kernel_initializer": keras.initializers.serialize(self.output_kernel_initializer),
        }


def sinusoidal_positional_encoding(length: int, dim: int) -> np.ndarray:
    """The sine/cosine table of Vaswani et al.: sin on even dimensions, cos on odd ones.

    PE[p, 2i] = sin(p / 10000^(2i/dim)) and PE[p, 2i+1] = cos(p / 10000^(2i/dim)). The pair
    (sin, cos) at one frequency makes a shift by k positions a rotation, i.e. a linear map.

    Args:
        length: number of positions.
        dim: embedding width.

    Returns:
        float32 array (length, dim).

    Example:
        >>> [round(float(v), 3) for v in sinusoidal_positional_encoding(2, 4)[1]]
        [0.841, 0.54, 0.01, 1.0]
    """
    positions = np.arange(length, dtype=np.float64)[:, None]
    rates = 1.0 / np.power(10000.0, np.arange(0, dim, 2, dtype=np.float64) / dim)
    table = np.zeros((length, dim), dtype=np.float64)
    table[:, 0::2] = np.sin(positions * rates)
    table[:, 1::2] = np.cos(positions * rates[: dim // 2])
    return table.astype(np.float32)


@keras.saving.register_keras_serializable(package="lmzoo")
class PositionalEmbedding(keras.layers.Layer):
    """Position vectors for a (batch, time, dim) sequence: sinusoidal (fixed) or learned.

    `call(x, start_index=0)` returns the vectors of positions start_index .. start_index+time-1,
    broadcast to x's shape (add them to the token embeddings). `start_index` lets a cached
    decoder embed one new position at a time.

    Args:
        context: the longest sequence (the model's context).
        kind: "sinusoidal" or "learned".
        initializer: initializer of the learned table.

    Example:
        >>> layer = PositionalEmbedding(context=8, kind="sinusoidal")
        >>> tuple(layer(np.zeros((2, 5, 4), "float32")).shape)
        (2, 5, 4)
    """

    def __init__(
        self, context: int, kind: Literal["sinusoidal", "learned"] = "learned",
        initializer: Any = "glorot_uniform", **kwargs: Any,
    ):
        super().__init__(**kwargs)
        if kind not in ("sinusoidal", "learned"):
            raise LmzooError(f"position_encoding='{kind}' is not known", "use 'sinusoidal' or 'learned'")
        self.context, self.kind = context, kind
        self.initializer = keras.initializers.get(initializer)

    def build(self, input_shape: Any) -> None:
        dim = input_shape[-1]
        if self.kind == "learned":
            self.table = self.add_weight(shape=(self.context, dim), initializer=clone_initializer(self.initializer),
                                         name="embeddings")
        else:  # a numpy constant, not a weight: nothing to train or save
            self.table = sinusoidal_positional_encoding(self.context, dim)
        self.built = True

    def call(self, inputs: Any, start_index: Any = 0) -> Any:
        length = ops.shape(inputs)[1]
        table = ops.convert_to_tensor(self.table)
        positions = ops.slice(table, (ops.cast(start_index, "int32"), 0), (length, ops.shape(table)[1]))
        return ops.broadcast_to(ops.cast(positions, self.compute_dtype), ops.shape(inputs))

    def compute_output_shape(self, input_shape: Any) -> Any:
        return input_shape

    def get_config(self) -> dict:
        return {**super().get_config(), "context": self.context, "kind": self.kind,
                "initializer": keras.initializers.serialize(self.initializer)}

    @classmethod
    def from_config(cls, config: dict) -> PositionalEmbedding:
        """Also reads a layer saved before `max_length` was renamed `context`."""
        return cls(**rename_keys(config, {"max_length": "context"}))


@keras.saving.register_keras_serializable(package="lmzoo")
class TransformerBlock(keras.layers.Layer):
    """A pre-LayerNorm decoder block: x + Attn(LN(x)), then x + FFN(LN(x)).

    Self-attention is causal (a GPT block has no cross-attention); the feed-forward network is
    Dense(intermediate_dim, GELU) -> Dense(width), as in GPT-2. Dropout follows the attention
    weights, the attention output and the FFN output.

    Args:
        num_heads: attention heads; must divide the input width.
        intermediate_dim: hidden width of the FFN (GPT uses 4x the width).
        dropout: dropout rate.
        use_bias: biases in the dense layers and LayerNorms (nanoGPT's Shakespeare run: False).
        layer_norm_epsilon: LayerNorm epsilon.
        kernel_initializer: initializer of the dense kernels.
        residual_initializer: initializer of the two projections that write into the residual
            stream (GPT-2 scales their std by 1/sqrt(2 * layers)).

    Example:
        >>> block = TransformerBlock(num_heads=2, intermediate_dim=16)
        >>> tuple(block(np.zeros((1, 3, 8), "float32")).shape)
        (1, 3, 8)
    """

    def __init__(
        self,
        num_heads: int,
        intermediate_dim: int,
        dropout: float = 0.0,
        use_bias: bool = True,
        layer_norm_epsilon: float = 1e-5,
        kernel_initializer: Any = "glorot_uniform",
        residual_initializer: Any = None,
        **kwargs: Any,
    ):
        super().__init__(**kwargs)
        self.num_heads, self.intermediate_dim, self.dropout = num_heads, intermediate_dim, dropout
        self.use_bias, self.layer_norm_epsilon = use_bias, layer_norm_epsilon
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.residual_initializer = keras.initializers.get(residual_initializer or kernel_initializer)

    def build(self, input_shape: Any) -> None:
        width = input_shape[-1]
        if width % self.num_heads:
            raise LmzooError(f"num_heads={self.num_heads} does not divide the width {width}",
                             "choose a head count that divides the width, e.g. width 128 with 4 heads")
        policy = self.dtype_policy
        norm = {"epsilon": self.layer_norm_epsilon, "center": self.use_bias, "dtype": policy}
        self.attention_norm = keras.layers.LayerNormalization(name="attention_norm", **norm)
        self.attention = MultiHeadAttention(
            self.num_heads, width // self.num_heads, dropout=self.dropout, use_bias=self.use_bias,
            kernel_initializer=self.kernel_initializer, output_kernel_initializer=self.residual_initializer,
            dtype=policy, name="attention",
        )
        self.ffn_norm = keras.layers.LayerNormalization(name="ffn_norm", **norm)
        self.ffn_in = keras.layers.Dense(self.intermediate_dim, activation="gelu", use_bias=self.use_bias,
                                         kernel_initializer=clone_initializer(self.kernel_initializer),
                                         dtype=policy, name="ffn_in")
        self.ffn_out = keras.layers.Dense(width, use_bias=self.use_bias, dtype=policy, name="ffn_out",
                                          kernel_initializer=clone_initializer(self.residual_initializer))
        self.dropout_layer = keras.layers.Dropout(self.dropout, dtype=policy)
        self.attention_norm.build(input_shape)
        self.attention.build(input_shape)
        self.ffn_norm.build(input_shape)
        self.ffn_in.build(input_shape)
        self.ffn_out.build((*input_shape[:-1], self.intermediate_dim))
        self.built = True

    def call(self, x: Any, cache: Any = None, cache_update_index: Any = None, training: bool | None = None) -> Any:
        h = self.attention_norm(x)
        if cache is not None:
            h, cache = self.attention(h, h, use_causal_mask=True, cache=cache,
                                      cache_update_index=cache_update_index, training=training)
        else:
            h = self.attention(h, h, use_causal_mask=True, training=training)
        x = x + self.dropout_layer(h, training=training)
        h = self.ffn_out(self.ffn_in(self.ffn_norm(x)))
        x = x + self.dropout_layer(h, training=training)
        return (x, cache) if cache is not None else x

    def compute_output_shape(self, input_shape: Any) -> Any:
        return input_shape

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "num_heads": self.num_heads,
            "intermediate_dim": self.intermediate_dim,
            "dropout": self.dropout,
            "use_bias": self.use_bias,
            "layer_norm_epsilon": self.layer_norm_epsilon,
            "kernel_initializer": keras.initializers.serialize(self.kernel_initializer),
            "residual_initializer": keras.initializers.serialize(self.residual_initializer),
        }
