"""What the window-trained neural LMs share (Transformer, rnnlm): data streams, the fit loop, scoring.

A family below this module owns its network; this module owns what surrounds it:

- Data: `random_windows` (nanoGPT's `get_batch`: `context`-long windows at uniformly random
  offsets) and `contiguous_windows` (truncated backpropagation through time: the text cut into
  `batch_size` parallel streams read left to right, so a recurrent state can be carried from
  one batch to the next). Both are endless and both start at a given optimizer step, so a
  resumed run reads exactly the batches an uninterrupted run would have read next (the data
  position is the optimizer step, which the checkpoint already holds).
- Training: `fit_windows` runs `keras.Model.fit` in "epochs" of `eval_every` steps; each ends
  with a validation loss, a metrics.jsonl record and a resumable checkpoint
  (`lmzoo.models.callbacks.training_callbacks`). The last chunk is cut short, so `steps=300`
  with `eval_every=250` trains exactly 300 steps. `steps_per_execution` says how many steps one
  compiled call may run without crossing those boundaries. `restore_checkpoint` reloads the checkpoint
  before `fit` (so the data stream can start at its step) with a one-line error when it is
  corrupt or from another config.
- Scoring: `target_log_prob_fn` compiles "logits, log-softmax, pick the target's column" into
  one function, so scoring never materialises a windows x context x vocabulary array (about
  13 GB for word-level PTB); `rolling_log_probs` slides `context`-long windows by `stride`, each
  token predicted once with at least context - stride tokens of history.

`WarmupCosineDecay` (nanoGPT's learning-rate schedule) and `make_optimizer` (AdamW or SGD on it)
live here too, since both families use them.

Example:
    >>> import numpy as np
    >>> uniform = lambda x, y: np.full(x.shape, -np.log(10.0))  # a model that knows nothing
    >>> lp = rolling_log_probs(uniform, list(range(4, 14)), context=4, stride=2)
    >>> lp.shape, round(float(-lp.mean()), 4)
    ((10,), 2.3026)
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import keras
import numpy as np
from keras import ops

from lmzoo.datasets.tokenizers import BOS, PAD
from lmzoo.errors import LmzooError
from lmzoo.models import distribute
from lmzoo.models.callbacks import training_callbacks
from lmzoo.runs import RunDir

# Data ------------------------------------------------------------------------------------------


def _tf_data() -> bool:
    """tf.data feeds the TensorFlow backend; other backends (JAX, where TensorFlow may not even be
    installed, as on a GPU machine with JAX only) get numpy batches from a Python generator."""
    return keras.config.backend() == "tensorflow"


def random_windows(ids: np.ndarray, length: int, batch_size: int, seed: int, start_step: int = 0) -> Any:
    """An endless tf.data stream of (x, y) batches at uniformly random offsets (nanoGPT's get_batch).

    `start_step` skips the batches of the steps already trained (a resumed run continues the
    stream instead of replaying it). On a backend other than TensorFlow it is a generator of
    numpy batches whose offsets for step k come from `numpy.random.default_rng((seed, k))`, so it
    is resumable the same way (the offsets differ from tf.data's).

    Example:
        >>> import numpy as np
        >>> ids = np.arange(100)
        >>> fresh = [x.numpy() for x, _ in random_windows(ids, 5, 2, seed=1).take(3)]
        >>> resumed = next(iter(random_windows(ids, 5, 2, seed=1, start_step=2)))[0].numpy()
        >>> bool((fresh[2] == resumed).all())
        True
    """
    if not _tf_data():
        return _numpy_random_windows(np.asarray(ids, dtype=np.int32), length, batch_size, seed, start_step)
    import tensorflow as tf

    data = tf.constant(np.asarray(ids, dtype=np.int32))
    high = len(ids) - length
    positions = tf.range(length + 1)

    def windows(draws):  # one gather per batch, not two map calls per window
        rows = tf.gather(data, tf.cast(draws % high, tf.int32)[:, None] + positions)  # (batch, length + 1)
        return rows[:, :-1], rows[:, 1:]

    offsets = tf.data.Dataset.random(seed=seed).skip(start_step * batch_size).batch(batch_size, drop_remainder=True)
    return offsets.map(windows).prefetch(tf.data.AUTOTUNE)


def _numpy_random_windows(ids: np.ndarray, length: int, batch_size: int, seed: int, start_step: int) -> Any:
    positions = np.arange(length + 1)
    step = start_step
    while True:
        offsets = np.random.default_rng((seed, step)).integers(0, len(ids) - length, size=batch_size)
        rows = ids[offsets[:, None] + positions]  # (batch, length + 1)
        yield rows[:, :-1], rows[:, 1:]
        step += 1


def contiguous_windows(ids: np.ndarray, length: int, batch_size: int, start_step: int = 0) -> Any:
    """An endless stream for truncated BPTT: row b of batch k continues row b of batch k - 1.

    The text is cut into `batch_size` equal streams (Zaremba et al.'s layout); batch k holds
    positions [k·length, (k+1)·length) of every stream, and after the last full batch the
    streams start again from their beginning. `start_step` is the first batch's index.

    Example:
        >>> import numpy as np
        >>> x, y = next(iter(contiguous_windows(np.arange(21), 2, 2, start_step=1)))
        >>> x.numpy().tolist(), y.numpy().tolist()
        ([[2, 3], [12, 13]], [[3, 4], [13, 14]])
    """
    ids = np.asarray(ids, dtype=np.int32)
    per_stream = (len(ids) - 1) // batch_size
    batches = per_stream // length
    if batches < 1:
        raise LmzooError(f"the text has {len(ids)} tokens, too few for {batch_size} streams of {length}",
                         "use a smaller batch_size or context")
    starts = np.arange(batch_size) * per_stream
    streams = np.stack([ids[s : s + per_stream + 1] for s in starts])  # (batch, per_stream + 1)
    if not _tf_data():
        return ((streams[:, p : p + length], streams[:, p + 1 : p + length + 1])
                for p in (k % batches * length for k in itertools.count(start_step)))
    import tensorflow as tf

    rows = tf.constant(streams)
    steps = tf.data.Dataset.range(start_step, 2**62).map(lambda k: tf.cast(k % batches, tf.int32) * length)
    pairs = steps.map(lambda p: (rows[:, p : p + length], rows[:, p + 1 : p + length + 1]))
    return pairs.prefetch(tf.data.AUTOTUNE)


def validation_windows(ids: Sequence[int], length: int, batch_size: int, eval_batches: int | None) -> Any:
    """Non-overlapping validation windows (the first `eval_batches` batches), or None if too short."""
    if len(ids) < length * batch_size + 1:
        return None
    if not _tf_data():  # (x, y) arrays of whole batches; fit_windows batches them
        ids = np.asarray(ids, dtype=np.int32)
        count = (len(ids) - 1) // length // batch_size * batch_size
        if eval_batches:
            count = min(count, eval_batches * batch_size)
        rows = ids[: count * length + 1]
        return rows[:-1].reshape(count, length), rows[1:].reshape(count, length)
    from lmzoo.datasets.batching import lm_windows

    valid = lm_windows(ids, length, batch_size, shuffle=False)
    return valid.take(eval_batches) if eval_batches else valid


# Schedule --------------------------------------------------------------------------------------


@keras.saving.register_keras_serializable(package="lmzoo")
class WarmupCosineDecay(keras.optimizers.schedules.LearningRateSchedule):
    """Linear warm-up to `peak`, then cosine decay to `floor` at `decay_steps`, then flat.

    nanoGPT's `get_lr`: lr = peak * (step + 1) / (warmup + 1) during warm-up.

    Example:
        >>> schedule = WarmupCosineDecay(1e-3, 1e-4, warmup_steps=100, decay_steps=2000)
        >>> [round(float(schedule(s)), 6) for s in (0, 99, 2000)]
        [1e-05, 0.00099, 0.0001]
    """

    def __init__(self, peak: float, floor: float, warmup_steps: int, decay_steps: int):
        self.peak, self.floor = peak, floor
        self.warmup_steps, self.decay_steps = warmup_steps, decay_steps

    def __call__(self, step: Any) -> Any:
        step = ops.cast(step, "float32")
        warmup = self.peak * (step + 1.0) / (self.warmup_steps + 1.0)
        span = max(1.0, float(self.decay_steps - self.warmup_steps))
        progress = ops.clip((step - self.warmup_steps) / span, 0.0, 1.0)
        cosine = self.floor + 0.5 * (self.peak - self.floor) * (1.0 + ops.cos(math.pi * progress))
        return ops.where(step < self.warmup_steps, warmup, cosine)

    def get_config(self) -> dict:
        return {"peak": self.peak, "floor": self.floor, "warmup_steps": self.warmup_steps,
                "decay_steps": self.decay_steps}


def make_optimizer(config: Any, variables: Sequence[Any], exclude_names: Sequence[str] = ()) -> keras.optimizers.Optimizer:
    """AdamW as nanoGPT configures it (or SGD), on `WarmupCosineDecay`, clipping the global gradient norm.

    Reads `learning_rate`, `min_learning_rate`, `warmup_steps`, `steps`, `weight_decay` and
    `clipnorm` (0: none) from `config`, and where it has them `optimizer` ("adamw" or "sgd"),
    `beta_1`, `beta_2` and `epsilon`. Weight decay skips tensors of fewer than 2 dims and any
    variable whose name holds one of `exclude_names`.
    """
    schedule = WarmupCosineDecay(config.learning_rate, config.min_learning_rate, config.warmup_steps,
                                 max(config.steps, config.warmup_steps + 1))
    clip = config.clipnorm or None
    if getattr(config, "optimizer", "adamw") == "sgd":
        return keras.optimizers.SGD(learning_rate=schedule, global_clipnorm=clip)
    moments = {name: getattr(config, name) for name in ("beta_1", "beta_2", "epsilon") if hasattr(config, name)}
    optimizer = keras.optimizers.AdamW(learning_rate=schedule, weight_decay=config.weight_decay, global_clipnorm=clip,
                                       **moments)
    optimizer.exclude_from_weight_decay(var_list=[v for v in variables if len(v.shape) < 2],
                                        var_names=list(exclude_names) or None)
    return optimizer


# Sampled softmax -------------------------------------------------------------------------------


def sampling_log_probs(ids: np.ndarray, vocabulary_size: int, power: float = 0.75) -> np.ndarray:
    """log q(w) for sampled softmax: the training unigram to the power 0.75 (+1 smoothing), float32.

    Example:
        >>> q = np.exp(sampling_log_probs(np.array([4, 4, 4, 5]), 6))
        >>> round(float(q.sum()), 6), bool(q[4] > q[5] > q[0])
        (1.0, True)
    """
    counts = np.bincount(np.asarray(ids, dtype=np.int64), minlength=vocabulary_size).astype(np.float64)
    weights = (counts + 1.0) ** power
    weights[PAD] = 0.0  # never a target, never a negative
    return np.log(np.maximum(weights / weights.sum(), 1e-30)).astype(np.float32)


def sampled_softmax_loss(hidden: Any, targets: Any, output_weights: Any, output_bias: Any, log_q: Any,
                         num_sampled: int, seed: Any) -> Any:
    """Mean sampled-softmax cross-entropy (Jean et al. 2015): the full softmax's training cost at a fraction.

    `hidden` (batch, time, units), `targets` (batch, time) int, `output_weights` (vocabulary,
    units), `output_bias` (vocabulary,), `log_q` (vocabulary,) the proposal's log-probabilities.
    One set of `num_sampled` negatives (with replacement) is shared by the whole batch; every
    logit is corrected by -log(expected count) = -log(num_sampled * q(w)), and a negative that
    equals the target is masked out (TensorFlow's `sampled_softmax_loss` does both). Training
    only: the gradient estimates the full softmax's, biased by the finite sample; scoring always
    uses the full softmax, so perplexities stay exact. Under a TensorFlow strategy the mean is over
    the global batch (`distribute.global_sum`), as Keras scales its own losses, so the replicas'
    gradients add up to the single-device one.
    """
    negatives = ops.reshape(keras.random.categorical(ops.expand_dims(log_q, 0), num_sampled, seed=seed), (-1,))
    negatives = ops.cast(negatives, "int32")
    targets = ops.cast(targets, "int32")
    hidden = ops.cast(hidden, "float32")
    log_expected = ops.log(float(num_sampled)) + log_q
    true_logits = (ops.sum(hidden * ops.take(output_weights, targets, axis=0), axis=-1)
                   + ops.take(output_bias, targets) - ops.take(log_expected, targets))
    negative_logits = (ops.matmul(hidden, ops.transpose(ops.take(output_weights, negatives, axis=0)))
                       + ops.take(output_bias, negatives) - ops.take(log_expected, negatives))
    hits = ops.equal(ops.expand_dims(targets, -1), negatives)  # (batch, time, num_sampled)
    negative_logits = ops.where(hits, -1e9, negative_logits)
    logits = ops.concatenate([ops.expand_dims(true_logits, -1), negative_logits], axis=-1)
    per_token = ops.logsumexp(logits, axis=-1) - true_logits
    return ops.sum(per_token) / distribute.global_sum(ops.cast(ops.size(per_token), per_token.dtype))


# Training --------------------------------------------------------------------------------------


def backup_weights(run: RunDir) -> Path:
    """The resumable checkpoint that `keras.callbacks.BackupAndRestore` writes."""
    return run.checkpoint_dir / "backup" / "latest.weights.h5"


def restore_checkpoint(run: RunDir, network: keras.Model) -> int:
    """Load the run's resumable checkpoint into the compiled `network`; its optimizer step (0 if none).

    Fails with a clear error if the checkpoint is corrupt or from another config. `fit` loads it
    again through BackupAndRestore (which also restores the epoch counter); loading it here first
    tells the data stream where to start.
    """
    path = backup_weights(run)
    if not path.exists():
        return 0
    try:
        network.optimizer.build(network.trainable_variables)
        network.load_weights(path)
    except (ValueError, OSError, KeyError) as err:
        raise LmzooError(f"checkpoint '{path}' is corrupt or from a different config ({type(err).__name__})",
                         f"delete '{path.parent}' to start afresh, or train into a new --out") from None
    return int(ops.convert_to_numpy(network.optimizer.iterations))


def _log_every(steps_per_epoch: int) -> int:
    return max(1, steps_per_epoch // 5)  # a few metrics records per period


def steps_per_execution(steps: int, eval_every: int, cap: int = 50) -> int:
    """Steps one compiled call of `fit` may run (at most `cap`) under `fit_windows`' cadences.

    A divisor of the chunk length, of `steps` and of the metrics cadence, so that no call runs
    past the end of a chunk, the last step or a metrics record. Fewer calls means less Python
    between steps (callbacks, logs) on a small model; the steps themselves are the same.

    Example:
        >>> steps_per_execution(2000, 250), steps_per_execution(10, 4), steps_per_execution(300, 100)
        (50, 1, 20)
    """
    chunk = min(eval_every, steps) or 1
    common = math.gcd(math.gcd(chunk, steps or chunk), _log_every(chunk))
    return max(d for d in range(1, min(cap, common) + 1) if common % d == 0)


def fit_windows(
    network: keras.Model, run: RunDir, train_data: Any, *, steps: int, eval_every: int, tokens_per_step: int,
    valid_data: Any = None, callbacks: Sequence[keras.callbacks.Callback] = (), tensorboard: bool = False,
) -> None:
    """Train `network` on the endless `train_data` for exactly `steps` optimizer steps, resumably.

    "Epochs" are chunks of `eval_every` steps; the last one is cut at `steps`. Records
    train_seconds and tokens_seen in the run's timing.json.
    """
    steps_per_epoch = min(eval_every, steps) or 1
    epochs = math.ceil(steps / steps_per_epoch) if steps else 0
    standard = training_callbacks(run, checkpoint_every_n_steps="epoch", tokens_per_step=tokens_per_step,
                                  log_every_n_steps=_log_every(steps_per_epoch), total_steps=steps)
    extra = [keras.callbacks.TensorBoard(str(run.file("tensorboard")), update_freq=steps_per_epoch)] if tensorboard else []
    with run.timed() as timing:
        if epochs:
            network.fit(train_data, epochs=epochs, steps_per_epoch=steps_per_epoch, validation_data=valid_data,
                        # numpy windows (not tf.data): equal-length windows, so any batch gives the same mean
                        validation_batch_size=64 if isinstance(valid_data, tuple) else None,
                        callbacks=[*standard, *extra, *callbacks], verbose=0)
        timing["tokens_seen"] = int(ops.convert_to_numpy(network.optimizer.iterations)) * tokens_per_step


def load_network(run: RunDir, filename: str, family: str, expected: dict, network_type: type) -> keras.Model:
    """The run's saved network (safe mode), checked against the run's config and tokenizer.

    `expected` maps network attributes to the values the run's config implies; a missing,
    damaged or mismatched file is one `LmzooError` naming it.
    """
    path = run.file(filename)
    if not path.exists():
        raise LmzooError(f"'{path}' is missing", f"retrain the run with `lmzoo train {family}`")
    try:
        network = keras.saving.load_model(path, safe_mode=True, compile=False)
    except Exception as err:  # Keras raises many types for a damaged archive; all mean the same here
        raise LmzooError(f"'{path}' is not a readable Keras model ({type(err).__name__})", "retrain the run") from None
    actual = {key: getattr(network, key, None) for key in expected}
    if actual != expected or not isinstance(network, network_type):
        raise LmzooError(f"'{path}' does not match the run's config and tokenizer (model {actual}, run {expected})",
                         "retrain the run, or restore its matching config.json/tokenizer.json")
    return network


# Scoring ---------------------------------------------------------------------------------------


def compile_fn(fn: Callable, jit_compile: bool) -> Callable:
    """Compile a function of tensors for the backend: tf.function (optionally XLA) on TensorFlow.

    Other backends run it as is (JAX still compiles each `ops.while_loop` body).
    """
    if keras.config.backend() == "tensorflow":
        import tensorflow as tf

        return tf.function(fn, jit_compile=jit_compile, autograph=False)  # Keras code: no Python control flow to convert
    return fn


def target_log_prob_fn(logits_fn: Callable[[Any], Any], jit_compile: bool) -> Callable[[Any, Any], Any]:
    """A compiled (inputs, targets) -> log p(target) per position, both (batch, time).

    The log-softmax and the gather happen inside the compiled function: only (batch, time)
    floats leave it.
    """

    def score(x: Any, y: Any) -> Any:
        log_probs = ops.log_softmax(ops.cast(logits_fn(x), "float32"), axis=-1)
        return ops.squeeze(ops.take_along_axis(log_probs, ops.expand_dims(y, -1), axis=-1), -1)

    return compile_fn(score, jit_compile)


def rolling_log_probs(
    score: Callable[[Any, Any], Any], ids: Sequence[int], *, context: int, stride: int | None = None,
    batch_size: int = 32, start_id: int = BOS,
) -> np.ndarray:
    """log p(ids[i] | ids[:i]) in nats (float64), in rolling windows of `context` tokens.

    The text starts with `start_id` (`<s>`; GPT-2's `<|endoftext|>`). The first window scores its
    first `context` tokens; each next window moves by `stride` (default context // 2) and scores
    only its last `stride` tokens, so every token is predicted once with at least context - stride
    tokens before it. `score(x, y)` returns log p(y | x) per position for (batch, context) int32
    arrays (`target_log_prob_fn`), causally, so the `<pad>` filling a short window's end changes
    nothing before it; batches always have `batch_size` rows (padded), so it compiles once.
    """
    ids = np.asarray(ids, dtype=np.int32)
    n = len(ids)
    stride = stride or max(1, context // 2)
    sequence = np.concatenate([[start_id], ids]).astype(np.int32)
    spans = []  # (first input position, first scored target, end of scored targets)
    scored = 0
    while scored < n:
        end = min(n, scored + (context if scored == 0 else stride))
        spans.append((max(0, end - context), scored, end))  # inputs sequence[start:end] predict ids[start:end]
        scored = end
    out = np.empty(n, dtype=np.float64)
    for b in range(0, len(spans), batch_size):
        group = spans[b : b + batch_size]
        x = np.full((batch_size, context), PAD, np.int32)
        y = np.full((batch_size, context), PAD, np.int32)
        for row, (start, _, end) in enumerate(group):
            x[row, : end - start] = sequence[start:end]
            y[row, : end - start] = ids[start:end]
        scores = np.asarray(ops.convert_to_numpy(score(ops.convert_to_tensor(x), ops.convert_to_tensor(y))))
        for row, (start, first, end) in enumerate(group):
            out[first:end] = scores[row, first - start : end - start]
    return out
