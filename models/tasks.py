"""Fine-tuning a pre-trained run for a task: text classification and translation.

The recipe every article ends with: pre-train on raw text, then train a little more on labelled
data. A task reaches its pre-trained run only through `lmzoo.protocols` (never a family's
internals) and reuses that run's tokenizer:

- **Classification** (`SequenceClassifier`): a copy of the run's `Backbone` (ids → hidden states;
  copied, so that one pre-trained model in memory can start several fine-tuning runs), pooled
  over the sentence (the mean over non-pad positions, or the last real position for a causal or
  recurrent backbone), dropout and a dense layer to the labels. The backbone can be frozen
  (`freeze=True`: only the head learns) or fine-tuned with its own, usually smaller, learning rate
  (`backbone_learning_rate`).
- **Translation as a decoder-only LM** (`architecture="decoder_only"`): the run's own causal
  network (`CausalNetwork`, output layer included) is trained further on `<s> source <sep> target
  </s>`, where `<sep>` is the tokenizer's `</s>` id, with the loss on the target tokens only
  (sample weights 0 on the source). Translating is greedy decoding after `<s> source <sep>`, batched
  for evaluation and through `lmzoo.models.sampling` for `generate` (every sampler).
- **Translation as an encoder–decoder** (`architecture="encoder_decoder"`): a GRU encoder and a GRU
  decoder with additive (Bahdanau) attention over the encoder states, written here with Keras
  layers (the seq2seq family is an autoencoder; a task never imports a family). Its target-side
  embedding starts from the pre-trained run's backbone when that backbone is an embedding table
  (Word2Vec), and the pre-trained run's tokenizer encodes both sides.

`init="scratch"` is the baseline for every neural task: the same architecture, freshly initialised
(`keras.models.clone_model` rebuilds it from its config), with the same data and budget. The
counting baseline is `CountingClassifier` (Naive Bayes log-count ratios on binary n-gram features,
then logistic regression: Wang & Manning 2012) and the translation baseline `CopyTranslator`.

A fine-tuned run is a normal run directory (config.json, tokenizer.json, task.keras,
metrics.jsonl, timing.json, COMPLETE), resumable from its checkpoint and reloaded by `load`; the
family `finetuned` in `lmzoo.families` points here. The harness scores it through the
`Classifier` and `Translator` protocols (accuracy; BLEU and chrF with sacrebleu).

References: Dai & Le 2015, "Semi-supervised sequence learning" (pre-train an LM or a sequence
autoencoder, then fine-tune); Howard & Ruder 2018 (ULMFiT: smaller rates for lower layers);
Radford et al. 2018 (GPT: task formats for a decoder-only model); Bahdanau et al. 2015; Wang &
Manning 2012 (NBSVM).
"""

from __future__ import annotations

import importlib
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import keras
import numpy as np
from keras import ops

from lmzoo.config import from_dict, to_dict
from lmzoo.datasets.labelled import LabelledData, PairData, TaskData
from lmzoo.datasets.tokenizers import (
    BOS,
    EOS,
    PAD,
    SPECIALS,
    UNK,
    VocabularyTokenizer,
    load_tokenizer,
)
from lmzoo.errors import LmzooError
from lmzoo.models import sampling
from lmzoo.models.callbacks import training_callbacks
from lmzoo.protocols import Backbone, CausalNetwork, Family, ZooModel
from lmzoo.runs import RunDir

MODEL_FILE = "task.keras"
_CJK = "\u3000-\u303f\u4e00-\u9fff\uff00-\uffef"  # CJK punctuation, ideographs, full-width forms
_CJK_SPACE = re.compile(f"(?<=[{_CJK}]) | (?=[{_CJK}])")
FAMILY_NAME = "finetuned"


@dataclass(frozen=True)
class FinetuneConfig:
    """How a pre-trained run is fine-tuned (every field settable with `--set key=value`).

    Example:
        >>> FinetuneConfig(task="classify", freeze=True).freeze
        True
    """

    task: Literal["classify", "translate"] = "classify"
    architecture: Literal["decoder_only", "encoder_decoder"] = "decoder_only"  # translation only
    direction: Literal["forward", "reverse"] = "forward"  # reverse: translate target → source
    init: Literal["pretrained", "scratch"] = "pretrained"  # scratch: same architecture, fresh weights
    freeze: bool = False  # classification: train only the head
    pooling: Literal["auto", "mean", "last"] = "auto"  # auto: mean (every backbone has it)
    dropout: float = 0.1
    learning_rate: float = 1e-3
    backbone_learning_rate: float | None = None  # None: learning_rate for every weight
    hidden_dim: int = 256  # encoder-decoder GRU width
    embedding_dim: int = 128  # encoder-decoder embeddings (a pre-trained table sets its own)
    batch_size: int = 32
    epochs: float = 4.0
    max_examples: int | None = None  # labelled training examples used (seeded subsample; None: all)
    max_length: int = 64  # tokens per example (decoder-only: source, separator and target together)
    max_new_tokens: int = 48  # translation output
    max_unknown_rate: float = 0.5  # above this share of <unk> in the task text, the tokenizer does not fit
    checkpoint_every_n_steps: int = 100
    seed: int = 0

    def validate(self) -> None:
        for name in ("batch_size", "max_length", "max_new_tokens", "checkpoint_every_n_steps", "hidden_dim",
                     "embedding_dim"):
            if getattr(self, name) < 1:
                raise LmzooError(f"{name}={getattr(self, name)} must be >= 1")
        if self.epochs <= 0 or self.learning_rate <= 0:
            raise LmzooError(f"epochs={self.epochs} and learning_rate={self.learning_rate} must be > 0")
        if self.backbone_learning_rate is not None and self.backbone_learning_rate <= 0:
            raise LmzooError(f"backbone_learning_rate={self.backbone_learning_rate} must be > 0 or None")
        if not 0 <= self.dropout < 1:
            raise LmzooError(f"dropout={self.dropout} must be in [0, 1)")
        if self.max_examples is not None and self.max_examples < 2:
            raise LmzooError(f"max_examples={self.max_examples} must be >= 2 or None")
        if self.freeze and self.init == "scratch":
            raise LmzooError("freeze=True with init='scratch' would train a head on random features",
                             "drop one of them")


PRESETS = {
    "quick": FinetuneConfig(epochs=2.0, batch_size=16, checkpoint_every_n_steps=20, hidden_dim=32, embedding_dim=16,
                            max_length=48, max_new_tokens=16),
    "default": FinetuneConfig(),
}


# Keras models ------------------------------------------------------------------------------------


@keras.saving.register_keras_serializable(package="lmzoo")
class SequenceClassifier(keras.Model):
    """A backbone's states, pooled over each sentence, to label logits.

    The optional second learning rate applies to the backbone's weights (TensorFlow backend).

    Example:
        >>> backbone = keras.Sequential([keras.Input((None,), dtype="int32"), keras.layers.Embedding(10, 4)])
        >>> tuple(SequenceClassifier(backbone, num_labels=2)(np.array([[5, 6, 0]])).shape)
        (1, 2)
    """

    def __init__(self, backbone: keras.Model, num_labels: int, pooling: str = "mean", dropout: float = 0.1,
                 backbone_learning_rate: float | None = None, **kwargs: Any):
        super().__init__(**kwargs)
        self.backbone, self.num_labels, self.pooling, self.dropout = backbone, num_labels, pooling, dropout
        self.backbone_learning_rate = backbone_learning_rate
        self.head_dropout = keras.layers.Dropout(dropout)
        self.head = keras.layers.Dense(num_labels, name="head")
        self.backbone_optimizer: keras.optimizers.Optimizer | None = None

    def call(self, ids: Any, training: bool | None = None) -> Any:
        states = self.backbone(ids, training=training)  # (batch, time, hidden)
        real = ops.not_equal(ids, PAD)
        if self.pooling == "last":  # the state after the last real token
            last = ops.maximum(ops.sum(ops.cast(real, "int32"), axis=1) - 1, 0)
            pooled = ops.take_along_axis(states, ops.reshape(last, (-1, 1, 1)), axis=1)[:, 0]
        else:
            mask = ops.expand_dims(ops.cast(real, states.dtype), -1)
            pooled = ops.sum(states * mask, axis=1) / ops.maximum(ops.sum(mask, axis=1), 1.0)
        return self.head(self.head_dropout(pooled, training=training))  # (batch, labels)

    def train_step(self, data: Any) -> dict:
        if self.backbone_optimizer is None:
            return super().train_step(data)
        import tensorflow as tf  # the two-rate step is TensorFlow's GradientTape

        x, y = data[:2]
        with tf.GradientTape() as tape:
            y_pred = self(x, training=True)
            loss = self.compute_loss(x=x, y=y, y_pred=y_pred, training=True)
        backbone_ids = {id(v) for v in self.backbone.trainable_variables}
        variables = self.trainable_variables
        gradients = tape.gradient(loss, variables)
        pairs = [(g, v) for g, v in zip(gradients, variables, strict=True) if g is not None]
        self.optimizer.apply([g for g, v in pairs if id(v) not in backbone_ids],
                             [v for g, v in pairs if id(v) not in backbone_ids])
        self.backbone_optimizer.apply([g for g, v in pairs if id(v) in backbone_ids],
                                      [v for g, v in pairs if id(v) in backbone_ids])
        return self.compute_metrics(x, y, y_pred)

    def get_config(self) -> dict:
        return {**super().get_config(), "backbone": keras.saving.serialize_keras_object(self.backbone),
                "num_labels": self.num_labels, "pooling": self.pooling, "dropout": self.dropout,
                "backbone_learning_rate": self.backbone_learning_rate}

    @classmethod
    def from_config(cls, config: dict) -> SequenceClassifier:
        config = dict(config)
        return cls(keras.saving.deserialize_keras_object(config.pop("backbone")), **config)


@keras.saving.register_keras_serializable(package="lmzoo")
class AttentionTranslator(keras.Model):
    """GRU encoder, GRU decoder, additive attention: `call([source, decoder_inputs])` → logits.

    Example:
        >>> net = AttentionTranslator(vocabulary_size=12, embedding_dim=4, hidden_dim=8)
        >>> tuple(net([np.array([[5, 6, 0]]), np.array([[2, 7]])]).shape)
        (1, 2, 12)
    """

    def __init__(self, vocabulary_size: int, embedding_dim: int = 128, hidden_dim: int = 256, **kwargs: Any):
        super().__init__(**kwargs)
        self.vocabulary_size, self.embedding_dim, self.hidden_dim = vocabulary_size, embedding_dim, hidden_dim
        self.source_embedding = keras.layers.Embedding(vocabulary_size, embedding_dim, name="source_embedding")
        self.target_embedding = keras.layers.Embedding(vocabulary_size, embedding_dim, name="target_embedding")
        self.encoder = keras.layers.GRU(hidden_dim, return_sequences=True, return_state=True, name="encoder")
        self.decoder = keras.layers.GRU(hidden_dim, return_sequences=True, return_state=True, name="decoder")
        self.attention = keras.layers.AdditiveAttention(name="attention")
        self.output_layer = keras.layers.Dense(vocabulary_size, name="output")

    def encode(self, source: Any) -> tuple[Any, Any, Any]:
        mask = ops.not_equal(source, PAD)
        states, final = self.encoder(self.source_embedding(source), mask=mask)
        return states, final, mask

    def decode(self, inputs: Any, states: Any, initial: Any, mask: Any) -> tuple[Any, Any]:
        hidden, final = self.decoder(self.target_embedding(inputs), initial_state=initial)
        context = self.attention([hidden, states], mask=[None, mask])  # (batch, target, hidden)
        return self.output_layer(ops.concatenate([hidden, context], axis=-1)), final

    def call(self, inputs: Any, training: bool | None = None) -> Any:
        source, decoder_inputs = inputs
        states, final, mask = self.encode(source)
        return self.decode(decoder_inputs, states, final, mask)[0]

    def get_config(self) -> dict:
        return {**super().get_config(), "vocabulary_size": self.vocabulary_size,
                "embedding_dim": self.embedding_dim, "hidden_dim": self.hidden_dim}


# Encoding ----------------------------------------------------------------------------------------


def _encode(tokenizer: VocabularyTokenizer, text: str) -> list[int]:
    """Ids of one sentence without the end-of-line `</s>` that word tokenizers add."""
    ids = tokenizer.encode(text.replace("\n", " "))
    return ids[:-1] if ids and ids[-1] == EOS else ids


def _pad(rows: Sequence[Sequence[int]], length: int) -> np.ndarray:
    out = np.full((len(rows), length), PAD, np.int32)
    for i, row in enumerate(rows):
        out[i, : min(len(row), length)] = row[:length]
    return out


def check_tokenizer(tokenizer: VocabularyTokenizer, texts: Sequence[str], limit: float, what: str) -> float:
    """The share of `<unk>` in `texts`; above `limit` the pre-trained tokenizer does not fit the task."""
    ids = [i for text in texts[:2000] for i in _encode(tokenizer, text)]
    if not ids:
        raise LmzooError(f"the {what} encode to no tokens with the pre-trained run's tokenizer", "check the data")
    rate = float(np.mean(np.asarray(ids) == UNK))
    if rate > limit:
        raise LmzooError(
            f"tokenizer mismatch: {rate:.0%} of the {what} tokens are unknown to the pre-trained run's "
            f"{tokenizer.kind} tokenizer (limit max_unknown_rate={limit})",
            "pre-train on text in the task's language(s), e.g. its training split, or raise max_unknown_rate")
    return rate


def translation_rows(tokenizer: VocabularyTokenizer, pairs: Sequence[tuple[str, str]],
                     max_length: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Decoder-only training rows `<s> source </s> target </s>`: inputs, next-token targets, loss weights.

    The weights are 1 exactly where the next token belongs to the target (its final `</s>` included).

    Example:
        >>> from lmzoo.datasets.tokenizers import CharTokenizer
        >>> x, y, w = translation_rows(CharTokenizer.fit("ab"), [("a", "b")], max_length=6)
        >>> x.tolist(), y.tolist(), w.tolist()
        ([[2, 4, 3, 5, 0, 0]], [[4, 3, 5, 3, 0, 0]], [[0.0, 0.0, 1.0, 1.0, 0.0, 0.0]])
    """
    inputs, targets, weights = [], [], []
    for source, target in pairs:
        prompt = [BOS, *_encode(tokenizer, source)][: max_length - 2] + [EOS]
        answer = [*_encode(tokenizer, target), EOS]
        row = (prompt + answer)[: max_length + 1]
        inputs.append(row[:-1])
        targets.append(row[1:])
        weights.append([0.0] * (len(prompt) - 1) + [1.0] * (len(row) - len(prompt)))
    return _pad(inputs, max_length), _pad(targets, max_length), _float_pad(weights, max_length)


def _float_pad(rows: Sequence[Sequence[float]], length: int) -> np.ndarray:
    out = np.zeros((len(rows), length), np.float32)
    for i, row in enumerate(rows):
        out[i, : min(len(row), length)] = row[:length]
    return out


# Fine-tuned models -------------------------------------------------------------------------------


class FinetunedClassifier:
    """A fine-tuned classifier: its Keras network and the pre-trained run's tokenizer (a Classifier).

    Example:
        >>> import lmzoo, tempfile
        >>> from lmzoo.datasets.labelled import load_task_data
        >>> pretrained = lmzoo.train("word2vec", lmzoo.load_corpus("rt-polarity-sample"), tempfile.mkdtemp(), preset="quick")
        >>> model = finetune(pretrained, load_task_data("rt-polarity-sample"), tempfile.mkdtemp(), PRESETS["quick"])
        >>> model.classify(["a moving , funny film ."])[0] in ("neg", "pos")
        True
    """

    family = FAMILY_NAME

    def __init__(self, config: FinetuneConfig, tokenizer: VocabularyTokenizer, network: SequenceClassifier,
                 labels: Sequence[str], sequence_length: int):
        self.config, self.tokenizer, self.network = config, tokenizer, network
        self.labels, self.sequence_length = tuple(labels), sequence_length

    def num_params(self) -> int:
        return int(self.network.count_params())

    def ids(self, texts: Sequence[str]) -> np.ndarray:
        return _pad([_encode(self.tokenizer, text) for text in texts], self.sequence_length)

    def label_log_probs(self, texts: Sequence[str], batch_size: int = 128) -> np.ndarray:
        """log p(label | text), shape (len(texts), labels)."""
        ids = self.ids(texts)
        logits = [self.network.predict_on_batch(ids[i : i + batch_size]) for i in range(0, len(ids), batch_size)]
        return np.asarray(ops.log_softmax(np.concatenate(logits), axis=-1)) if logits else np.zeros((0, len(self.labels)))

    def classify(self, texts: Sequence[str]) -> list[str]:
        return [self.labels[i] for i in np.argmax(self.label_log_probs(texts), axis=-1)]

    def save(self, run: RunDir) -> None:
        self.tokenizer.save(run.tokenizer_path)
        self.network.save(run.file(MODEL_FILE))


class FinetunedTranslator:
    """A fine-tuned translator (a Translator and a Generator: `generate(prompt)` translates the prompt).

    Example:
        >>> translator = FinetunedTranslator.__new__(FinetunedTranslator)  # built by `finetune`
    """

    family = FAMILY_NAME

    def __init__(self, config: FinetuneConfig, tokenizer: VocabularyTokenizer, network: keras.Model,
                 sequence_length: int, source_language: str, target_language: str):
        self.config, self.tokenizer, self.network = config, tokenizer, network
        self.sequence_length = sequence_length
        self.source_language, self.target_language = source_language, target_language

    def num_params(self) -> int:
        return int(self.network.count_params())

    def _source(self, sentence: str) -> list[int]:
        if self.config.architecture == "decoder_only":
            return [BOS, *_encode(self.tokenizer, sentence)][: self.sequence_length - 2] + [EOS]
        return [*_encode(self.tokenizer, sentence)][: self.sequence_length - 1] + [EOS]

    def translate(self, sentences: Sequence[str], batch_size: int = 64) -> list[str]:
        """Greedy translations, decoded in batches."""
        outputs: list[list[int]] = []
        for start in range(0, len(sentences), batch_size):
            rows = [self._source(s) for s in sentences[start : start + batch_size]]
            outputs += self._greedy_decoder_only(rows) if self.config.architecture == "decoder_only" \
                else self._greedy_encoder_decoder(rows)
        return [self._text(ids) for ids in outputs]

    def _text(self, ids: Sequence[int]) -> str:
        text = self.tokenizer.decode([i for i in ids if i != EOS]).strip()
        # A word tokenizer joins every token with a space; Chinese is written without them.
        return _CJK_SPACE.sub("", text) if self.target_language == "zh" else text

    def _greedy_decoder_only(self, rows: list[list[int]]) -> list[list[int]]:
        length = self.sequence_length
        buffer, lengths = _pad(rows, length), np.array([len(r) for r in rows])
        outputs: list[list[int]] = [[] for _ in rows]
        active = np.ones(len(rows), bool)
        for _ in range(self.config.max_new_tokens):
            active &= lengths < length
            if not active.any():
                break
            logits = np.asarray(self.network.predict_on_batch(buffer))  # (batch, time, vocabulary)
            chosen = np.argmax(logits[np.arange(len(rows)), lengths - 1], axis=-1)
            for i in np.flatnonzero(active):
                buffer[i, lengths[i]] = chosen[i]
                lengths[i] += 1
                outputs[i].append(int(chosen[i]))
                active[i] = chosen[i] != EOS
        return outputs

    def _greedy_encoder_decoder(self, rows: list[list[int]]) -> list[list[int]]:
        states, state, mask = self.network.encode(ops.convert_to_tensor(_pad(rows, max(map(len, rows)))))
        token = np.full((len(rows), 1), BOS, np.int32)
        outputs: list[list[int]] = [[] for _ in rows]
        active = np.ones(len(rows), bool)
        for _ in range(self.config.max_new_tokens):
            logits, state = self.network.decode(ops.convert_to_tensor(token), states, state, mask)
            chosen = np.argmax(ops.convert_to_numpy(logits)[:, 0], axis=-1)
            for i in np.flatnonzero(active):
                outputs[i].append(int(chosen[i]))
                active[i] = chosen[i] != EOS
            if not active.any():
                break
            token = chosen.astype(np.int32)[:, None]
        return outputs

    def next_log_probs(self, prefix: Sequence[int], source: Sequence[int]) -> np.ndarray:
        """log p(next target token | source, target prefix), by a full forward pass (uncached)."""
        if self.config.architecture == "decoder_only":
            row = [*source, *prefix][-self.sequence_length :]
            logits = np.asarray(self.network.predict_on_batch(_pad([row], self.sequence_length)))[0, len(row) - 1]
        else:
            logits = ops.convert_to_numpy(self.network([_pad([source], len(source)),
                                                        np.array([[BOS, *prefix]], np.int32)]))[0, -1]
        return np.asarray(ops.log_softmax(logits.astype(np.float64)))

    def generate(self, prompt: str, *, max_length: int = 64, num_return_sequences: int = 1,
                 sampler: str = "greedy", seed: int | None = None, **sampler_options: Any) -> list[str]:
        """Translate `prompt` with any sampler of `lmzoo.models.sampling` (greedy by default)."""
        source = self._source(prompt)
        news = sampling.generate(lambda ids: self.next_log_probs(ids, source), [], max_new_tokens=max_length,
                                 eos_id=EOS, sampler=sampler, num_return_sequences=num_return_sequences, seed=seed,
                                 **sampler_options)
        return [self._text(new) for new in news]

    def save(self, run: RunDir) -> None:
        self.tokenizer.save(run.tokenizer_path)
        self.network.save(run.file(MODEL_FILE))


# Baselines ---------------------------------------------------------------------------------------


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


# Training ----------------------------------------------------------------------------------------


def subsample(items: list, limit: int | None, seed: int) -> list:
    """`limit` items drawn without replacement with `seed`, in their original order (all if None).

    Example:
        >>> subsample(list("abcdef"), 3, seed=0) == subsample(list("abcdef"), 3, seed=0)
        True
    """
    if limit is None or limit >= len(items):
        return items
    keep = np.sort(np.random.default_rng(seed).choice(len(items), limit, replace=False))
    return [items[i] for i in keep]


def _fresh(model: keras.Model) -> keras.Model:
    """The same architecture with new random weights (the from-scratch baseline)."""
    clone = keras.models.clone_model(model)
    for name in ("causal", "max_length"):
        if hasattr(model, name) and not hasattr(clone, name):
            setattr(clone, name, getattr(model, name))
    return clone


def _copy(model: keras.Model) -> keras.Model:
    """The same architecture with the same weights, so that fine-tuning leaves the pre-trained run as it is."""
    clone = _fresh(model)
    clone(np.full((1, 2), len(SPECIALS), np.int32))  # build: creates the weights to copy into
    clone.set_weights(model.get_weights())
    return clone


def _check_task(config: FinetuneConfig, pretrained: ZooModel, data: TaskData) -> None:
    if config.task == "classify" and not isinstance(data, LabelledData):
        raise LmzooError(f"--task classify needs labelled examples; '{data.name}' is sentence pairs",
                         "use --task translate, or a labelled corpus such as rt-polarity")
    if config.task == "translate" and not isinstance(data, PairData):
        raise LmzooError(f"--task translate needs sentence pairs; '{data.name}' is labelled examples",
                         "use --task classify, or a pairs corpus such as tatoeba-cmn")
    if config.task == "classify" or config.architecture == "encoder_decoder":
        if not isinstance(pretrained, Backbone):
            raise LmzooError(f"family '{pretrained.family}' has no backbone to fine-tune (it has no hidden states)",
                             "pre-train a transformer, seq2seq or word2vec run")
    elif not isinstance(pretrained, CausalNetwork):
        raise LmzooError(f"family '{pretrained.family}' has no causal network for decoder-only translation",
                         "pre-train a transformer, or use --set architecture=encoder_decoder")


def _classifier(config: FinetuneConfig, pretrained: Backbone, labels: Sequence[str]) -> tuple[SequenceClassifier, int]:
    backbone = pretrained.backbone()
    backbone = _fresh(backbone) if config.init == "scratch" else _copy(backbone)
    length = min(config.max_length, getattr(backbone, "max_length", None) or config.max_length)
    pooling = "mean" if config.pooling == "auto" else config.pooling
    if pooling == "last" and not getattr(backbone, "causal", False):
        raise LmzooError(f"pooling='last' needs a causal or recurrent backbone; {pretrained.family}'s is not",
                         "use pooling=mean")
    two_rates = config.backbone_learning_rate is not None and not config.freeze
    network = SequenceClassifier(backbone, len(labels), pooling, config.dropout,
                                 config.backbone_learning_rate if two_rates else None)
    backbone.trainable = not config.freeze
    network(np.zeros((1, length), np.int32))  # build, so that the optimizers can see every weight
    if two_rates:
        if keras.config.backend() != "tensorflow":
            raise LmzooError("backbone_learning_rate needs the TensorFlow backend", "drop it, or set KERAS_BACKEND")
        network.backbone_optimizer = keras.optimizers.Adam(config.backbone_learning_rate, clipnorm=1.0)
        network.backbone_optimizer.build(backbone.trainable_variables)
    network.compile(optimizer=keras.optimizers.Adam(config.learning_rate, clipnorm=1.0),
                    loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=["accuracy"])
    if two_rates:
        head = [v for v in network.trainable_variables if id(v) not in {id(b) for b in backbone.trainable_variables}]
        network.optimizer.build(head)
    return network, length


def _embedding_table(pretrained: ZooModel) -> np.ndarray | None:
    """Each token's pre-trained state on its own (for Word2Vec, exactly its input vectors)."""
    if not isinstance(pretrained, Backbone):
        return None
    backbone = pretrained.backbone()
    ids = np.arange(pretrained.tokenizer.vocabulary_size(), dtype=np.int32)[:, None]
    return np.concatenate([ops.convert_to_numpy(backbone(ids[i : i + 4096]))[:, 0] for i in range(0, len(ids), 4096)])


def _translator(config: FinetuneConfig, pretrained: ZooModel) -> tuple[keras.Model, int]:
    if config.architecture == "decoder_only":
        network = pretrained.causal_network()
        network = _fresh(network) if config.init == "scratch" else _copy(network)
        length = min(config.max_length, getattr(network, "max_length", None) or config.max_length)
    else:
        table = _embedding_table(pretrained) if config.init == "pretrained" else None
        network = AttentionTranslator(pretrained.tokenizer.vocabulary_size(),
                                      table.shape[1] if table is not None else config.embedding_dim, config.hidden_dim)
        network([np.zeros((1, 2), np.int32), np.zeros((1, 2), np.int32)])
        if table is not None:
            network.source_embedding.embeddings.assign(table)
            network.target_embedding.embeddings.assign(table)
        length = config.max_length
    network.compile(optimizer=keras.optimizers.Adam(config.learning_rate, clipnorm=1.0),
                    loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    return network, length


def _encoder_decoder_rows(tokenizer: VocabularyTokenizer, pairs: Sequence[tuple[str, str]],
                          length: int) -> tuple[tuple[np.ndarray, np.ndarray], np.ndarray, np.ndarray]:
    sources = [[*_encode(tokenizer, s)][: length - 1] + [EOS] for s, _ in pairs]
    targets = [[*_encode(tokenizer, t)][: length - 1] + [EOS] for _, t in pairs]
    decoder_inputs = [[BOS, *t[:-1]] for t in targets]
    weights = [[1.0] * len(t) for t in targets]
    return (_pad(sources, length), _pad(decoder_inputs, length)), _pad(targets, length), _float_pad(weights, length)


def _dataset(x: Any, y: np.ndarray, weights: np.ndarray | None, batch_size: int, seed: int, shuffle: bool) -> Any:
    import tensorflow as tf

    ds = tf.data.Dataset.from_tensor_slices((x, y) if weights is None else (x, y, weights))
    if shuffle:
        ds = ds.shuffle(len(y), seed=seed, reshuffle_each_iteration=True).repeat()
    return ds.batch(batch_size).prefetch(tf.data.AUTOTUNE)


def finetune(pretrained: ZooModel, data: TaskData, out: str | RunDir, config: FinetuneConfig | None = None, *,
             corpus_name: str | None = None, pretrained_run: str = "") -> FinetunedClassifier | FinetunedTranslator:
    """Fine-tune `pretrained` on `data` into run directory `out` (resuming from its checkpoint).

    `config.task` says what to learn ("classify" labelled examples, "translate" pairs); a finished
    run is loaded, not retrained. `corpus_name` is what `lmzoo evaluate` reloads (default `data.name`).
    """
    config = config or PRESETS["default"]
    config.validate()
    run = out if isinstance(out, RunDir) else RunDir(out)
    if run.is_complete():
        return load(run)
    _check_task(config, pretrained, data)
    if isinstance(data, PairData) and config.direction == "reverse":
        data = data.reversed()
    tokenizer = pretrained.tokenizer
    train = subsample(list(data.train), config.max_examples, config.seed)
    texts = [t for pair in train for t in pair] if isinstance(data, PairData) else [t for t, _ in train]
    unknown = check_tokenizer(tokenizer, texts, config.max_unknown_rate, "task's training")
    keras.utils.set_random_seed(config.seed)
    extra: dict[str, Any] = {}
    if isinstance(data, LabelledData):
        network, length = _classifier(config, pretrained, data.labels)
        index = {label: i for i, label in enumerate(data.labels)}

        def arrays(items: Sequence[tuple[str, str]]) -> tuple[Any, np.ndarray, None]:
            return (_pad([_encode(tokenizer, t) for t, _ in items], length),
                    np.array([index[label] for _, label in items], np.int32), None)

        extra["labels"] = list(data.labels)
    else:
        network, length = _translator(config, pretrained)

        def arrays(items: Sequence[tuple[str, str]]) -> tuple[Any, np.ndarray, np.ndarray]:
            if config.architecture == "decoder_only":
                x, y, w = translation_rows(tokenizer, items, length)
                return x, y, w
            return _encoder_decoder_rows(tokenizer, items, length)

        extra |= {"source_language": data.source_language, "target_language": data.target_language}
    run.write_config(FAMILY_NAME, to_dict(config), corpus=corpus_name or data.name, pretrained_run=pretrained_run,
                     pretrained_family=pretrained.family, backbone_module=type(pretrained).__module__,
                     sequence_length=length, train_examples=len(train), unknown_rate=unknown, **extra)
    tokenizer.save(run.tokenizer_path)
    x, y, w = arrays(train)
    steps_per_pass = math.ceil(len(y) / config.batch_size)
    total = max(1, math.ceil(config.epochs * steps_per_pass))
    chunks = math.ceil(total / config.checkpoint_every_n_steps)
    chunk = math.ceil(total / chunks)  # equal chunks, so that chunks * chunk overshoots `total` by < chunks
    valid = arrays(data.valid) if data.valid else None
    tokens_per_step = int(np.count_nonzero(x[0] if isinstance(x, tuple) else x) / len(y) * config.batch_size)
    with run.timed() as timing:
        network.fit(_dataset(x, y, w, config.batch_size, config.seed, shuffle=True), epochs=chunks,
                    steps_per_epoch=chunk, shuffle=False, verbose=0,
                    validation_data=_dataset(*valid, 256, config.seed, shuffle=False) if valid else None,
                    callbacks=training_callbacks(run, tokens_per_step=tokens_per_step))
        timing["tokens_seen"] = int(ops.convert_to_numpy(network.optimizer.iterations)) * tokens_per_step
    if isinstance(data, LabelledData):
        model: FinetunedClassifier | FinetunedTranslator = FinetunedClassifier(config, tokenizer, network, data.labels, length)
    else:
        model = FinetunedTranslator(config, tokenizer, network, length, data.source_language, data.target_language)
    model.save(run)
    run.mark_complete()
    return model


def load(run: RunDir) -> FinetunedClassifier | FinetunedTranslator:
    """Reload a fine-tuned run (its `.keras` file in safe mode)."""
    saved = run.read_config()
    config = from_dict(FinetuneConfig, saved["config"])
    # The pre-trained family's Keras classes (its backbone) register themselves when imported.
    importlib.import_module(saved["backbone_module"])
    path = run.file(MODEL_FILE)
    try:
        network = keras.saving.load_model(path, safe_mode=True, compile=False)
    except Exception as err:  # Keras raises many types for a damaged or missing archive
        raise LmzooError(f"'{path}' is not a readable Keras model ({type(err).__name__})", "fine-tune again") from None
    tokenizer = load_tokenizer(run.tokenizer_path)
    if config.task == "classify":
        return FinetunedClassifier(config, tokenizer, network, saved["labels"], saved["sequence_length"])
    return FinetunedTranslator(config, tokenizer, network, saved["sequence_length"], saved["source_language"],
                               saved["target_language"])


def _train(config: FinetuneConfig, corpus: Any, run: RunDir) -> ZooModel:
    raise LmzooError("a fine-tuned run starts from a pre-trained run",
                     "use `lmzoo finetune PRETRAINED_RUN --task classify|translate --corpus NAME --out DIR`")


FAMILY = Family(
    name=FAMILY_NAME,
    summary="a pre-trained run fine-tuned for classification or translation (made by `lmzoo finetune`)",
    config_cls=FinetuneConfig,
    presets=PRESETS,
    train=_train,
    load=load,
)
