"""What the window-trained neural LMs (Transformer, rnnlm) share: data, the trainer, the model, scoring.

A family below this module owns its network and a small `prepare` hook; this module owns the rest.
Data: `random_windows` (nanoGPT's `get_batch`) and `contiguous_windows` (truncated BPTT, Zaremba
et al. 2014), both endless and both starting at an optimizer step, so a resumed run reads the
batches an uninterrupted run would have read next. Training: `train_window_lm` (tokenizer,
strategy scope, `schedules.make_optimizer`, `restore_checkpoint`, `callbacks.fit_steps`, save).
Model: `WindowLM`, the base of the two wrappers (save, load, generate, word vectors). Scoring:
`target_log_prob_fn` gathers the target's log-probability inside the compiled function (no
windows x context x vocabulary array), and `rolling_log_probs` slides `context`-long windows by
`stride`, each token predicted once with at least context - stride tokens of history.

Example:
    >>> import numpy as np
    >>> uniform = lambda x, y: np.full(x.shape, -np.log(10.0))  # a model that knows nothing
    >>> lp = rolling_log_probs(uniform, list(range(4, 14)), context=4, stride=2)
    >>> lp.shape, round(float(-lp.mean()), 4)
    ((10,), 2.3026)
"""

from __future__ import annotations

import importlib.util
import itertools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import keras
import numpy as np
from keras import ops

from lmzoo.config import from_dict
from lmzoo.datasets.corpus import Corpus
from lmzoo.datasets.tokenizers import (
    BOS,
    PAD,
    SPECIALS,
    VocabularyTokenizer,
    encode_prompt,
    fit_tokenizer,
    load_tokenizer,
)
from lmzoo.errors import LmzooError
from lmzoo.models import distribute
from lmzoo.models.callbacks import fit_steps
from lmzoo.models.schedules import make_optimizer
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
    if not _tf_data():  # (x, y) arrays of whole batches; fit batches them
        ids = np.asarray(ids, dtype=np.int32)
        count = (len(ids) - 1) // length // batch_size * batch_size
        if eval_batches:
            count = min(count, eval_batches * batch_size)
        rows = ids[: count * length + 1]
        return rows[:-1].reshape(count, length), rows[1:].reshape(count, length)
    from lmzoo.datasets.batching import lm_windows

    valid = lm_windows(ids, length, batch_size, shuffle=False)
    return valid.take(eval_batches) if eval_batches else valid


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
    """Steps one compiled call of `fit` may run (at most `cap`) under `train_window_lm`'s cadences.

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


@dataclass
class TrainingPlan:
    """What a family's `prepare` hook may change about `train_window_lm` (the defaults suit most).

    Args:
        contiguous: read `contiguous_windows` (truncated BPTT with a carried state), not `random_windows`.
        no_decay_names: AdamW skips variables whose names hold one of these (beside every 1-D tensor).
        steps_per_execution: steps per compiled call of `fit` (1 under a distribution strategy).
        callbacks: extra Keras callbacks, after the standard ones.
        after_fit: called once training ends, before the model is saved (e.g. restore the best weights).
    """

    contiguous: bool = False
    no_decay_names: Sequence[str] = ()
    steps_per_execution: int = 1
    callbacks: list[keras.callbacks.Callback] = field(default_factory=list)
    after_fit: Callable[[], Any] | None = None


def train_window_lm(
    config: Any, corpus: Corpus, run: RunDir, build_network: Callable[[Any, int], keras.Model],
    prepare: Callable[[WindowLM, RunDir, np.ndarray, list[int]], TrainingPlan] | None = None, *,
    model_cls: type[WindowLM],
) -> WindowLM:
    """Fit a tokenizer and a window LM on `corpus.train` for exactly `config.steps` steps (resuming).

    The one trainer of the window LMs: seed, tokenizer, ids, the distribution strategy's scope,
    `build_network(config, vocabulary_size)`, `prepare(model, run, train_ids, valid_ids)` (the
    family's own initialisation and `TrainingPlan`), AdamW on `WarmupCosineDecay`, the checkpoint
    restored before the data stream starts at its step, `fit_steps` in chunks of `eval_every`
    with a validation loss each, then save and COMPLETE. `config` needs the fields RNNLMConfig
    and TransformerConfig share (tokenizer, context, batch_size, steps, the optimizer's, ...).
    """
    run = distribute.worker_run(run, config.distribute)
    if config.tensorboard and importlib.util.find_spec("tensorboard") is None:
        raise LmzooError("tensorboard=True needs the tensorboard package", "pip install tensorboard, or drop the flag")
    keras.utils.set_random_seed(config.seed)
    options = {"vocabulary_size": config.vocabulary_size} if config.tokenizer == "subword" else {"min_count": config.min_count}
    tokenizer = fit_tokenizer(config.tokenizer, corpus.train, word_split=corpus.word_split, **options)
    tokenizer.save(run.tokenizer_path)
    train_ids = np.asarray([BOS, *tokenizer.encode(corpus.train)], dtype=np.int32)
    valid_ids = tokenizer.encode(corpus.valid)
    with distribute.strategy_scope(config.distribute, global_batch=config.batch_size):
        model = model_cls(config, tokenizer, build_network(config, tokenizer.vocabulary_size()))
        plan = prepare(model, run, train_ids, valid_ids) if prepare else TrainingPlan()
        needed = config.context * (config.batch_size if plan.contiguous else 1) + 2
        if len(train_ids) < needed:
            raise LmzooError(f"the training text has {len(train_ids)} tokens, fewer than the {needed} one batch needs",
                             "use a smaller context or batch_size, or more text")
        network = model.network
        network.compile(optimizer=make_optimizer(config, network.trainable_variables, plan.no_decay_names),
                        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                        jit_compile=config.jit_compile and keras.config.backend() != "torch",
                        steps_per_execution=plan.steps_per_execution if config.distribute == "none" else 1)
        start = restore_checkpoint(run, network)  # the data stream continues from the restored step
        if plan.contiguous:
            data = contiguous_windows(train_ids, config.context, config.batch_size, start_step=start)
        else:
            data = random_windows(train_ids, config.context, config.batch_size, config.seed, start_step=start)
        valid = validation_windows(valid_ids, config.context, config.batch_size, config.eval_batches)
        chunk = min(config.eval_every, config.steps) or 1
        board = [keras.callbacks.TensorBoard(str(run.file("tensorboard")), update_freq=chunk)] if config.tensorboard else []
        fit_steps(network, run, data, steps=config.steps, chunk=chunk, tokens_per_step=config.batch_size * config.context,
                  log_every_n_steps=_log_every(chunk), callbacks=[*board, *plan.callbacks], validation_data=valid,
                  # numpy windows (not tf.data): equal-length windows, so any batch gives the same mean
                  validation_batch_size=64 if isinstance(valid, tuple) else None)
        if plan.after_fit:
            plan.after_fit()
    model.save(run)
    run.mark_complete()
    return model


# The trained model -----------------------------------------------------------------------------


class WindowLM:
    """What a trained window LM shares: config, tokenizer and Keras network; save, load, text, embeddings.

    A family subclasses it with `family`, `config_cls`, `network_cls`, `expected_network` (what the
    saved network must match) and its own scoring and `generate_ids`.
    """

    family: str
    config_cls: type
    network_cls: type
    model_file = "model.keras"

    def __init__(self, config: Any, tokenizer: VocabularyTokenizer, network: keras.Model):
        self.config, self.tokenizer, self.network = config, tokenizer, network
        self._functions: dict[Any, Any] = {}  # compiled scoring and decoding functions, built on first use

    @classmethod
    def expected_network(cls, config: Any, vocabulary_size: int) -> dict:
        """Network attributes (name → value) that `config` and the tokenizer imply, checked on load."""
        raise NotImplementedError

    @classmethod
    def load(cls, run: RunDir) -> WindowLM:
        """Reload a finished run (the network in safe mode); a missing, damaged or mismatched file is one LmzooError."""
        config = from_dict(cls.config_cls, run.read_config()["config"])
        tokenizer = load_tokenizer(run.tokenizer_path)
        path = run.file(cls.model_file)
        if not path.exists():
            raise LmzooError(f"'{path}' is missing", f"retrain the run with `lmzoo train {cls.family}`")
        try:
            network = keras.saving.load_model(path, safe_mode=True, compile=False)
        except Exception as err:  # Keras raises many types for a damaged archive; all mean the same here
            raise LmzooError(f"'{path}' is not a readable Keras model ({type(err).__name__})", "retrain the run") from None
        expected = cls.expected_network(config, tokenizer.vocabulary_size())
        actual = {key: getattr(network, key, None) for key in expected}
        if actual != expected or not isinstance(network, cls.network_cls):
            raise LmzooError(f"'{path}' does not match the run's config and tokenizer (model {actual}, run {expected})",
                             "retrain the run, or restore its matching config.json/tokenizer.json")
        return cls(config, tokenizer, network)

    def save(self, run: RunDir) -> None:
        self.tokenizer.save(run.tokenizer_path)
        self.network.save(run.file(self.model_file))

    def num_params(self) -> int:
        return int(sum(np.prod(v.shape) for v in self.network.trainable_weights))

    def generate_ids(self, prompt_ids: Sequence[int], *, max_length: int = 64, num_return_sequences: int = 1,
                     sampler: str = "greedy", seed: int | None = None, **options: Any) -> list[list[int]]:
        raise NotImplementedError

    def generate(self, prompt: str, *, max_length: int = 64, num_return_sequences: int = 1, sampler: str = "greedy",
                 seed: int | None = None, **options: Any) -> list[str]:
        """Continue `prompt` (a word/subword prompt is continued, not closed with `</s>`); the new text of each
        sequence. `max_length` counts new tokens; see `generate_ids`."""
        news = self.generate_ids(encode_prompt(self.tokenizer, prompt), max_length=max_length,
                                 num_return_sequences=num_return_sequences, sampler=sampler, seed=seed, **options)
        return [self.tokenizer.decode(new) for new in news]

    def word_vectors(self) -> Any:
        """The input token embedding table as gensim KeyedVectors (characters for a char tokenizer)."""
        from gensim.models import KeyedVectors

        table = self.network.token_embedding_matrix()
        vectors = KeyedVectors(table.shape[1])
        vectors.add_vectors(self.tokenizer.vocabulary[len(SPECIALS):], table[len(SPECIALS):])
        return vectors

    def causal_network(self) -> keras.Model:
        """The CausalNetwork protocol: this LM's own network (ids → next-token logits)."""
        return self.network


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
