"""Classification: a backbone's pooled states to label logits (`SequenceClassifier`), and the fine-tuned run."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import keras
import numpy as np
from keras import ops

from lmzoo.datasets.tokenizers import PAD, VocabularyTokenizer
from lmzoo.errors import LmzooError
from lmzoo.models.tasks.backbones import copy_weights, fresh
from lmzoo.models.tasks.config import FAMILY_NAME, MODEL_FILE, FinetuneConfig
from lmzoo.models.tasks.encoding import encode, pad
from lmzoo.protocols import Backbone
from lmzoo.runs import RunDir

CNN_WIDTHS, CNN_FILTERS = (3, 4, 5), 100  # Kim (2014): 100 filters of each width


@keras.saving.register_keras_serializable(package="lmzoo")
class SequenceClassifier(keras.Model):
    """A backbone's states, pooled over each sentence, to label logits.

    Pooling: "mean" over the real tokens, "last" (the state after the last one: causal backbones), or
    "cnn": Kim (2014)'s sentence CNN, convolutions of widths 3, 4 and 5 (100 ReLU filters each) over the
    states, each filter's maximum over time (over word vectors this is Kim's CNN-static / non-static).
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
        self.convolutions = [keras.layers.Conv1D(CNN_FILTERS, width, padding="same", activation="relu", name=f"conv{width}")
                             for width in CNN_WIDTHS] if pooling == "cnn" else []
        self.backbone_optimizer: keras.optimizers.Optimizer | None = None

    def call(self, ids: Any, training: bool | None = None) -> Any:
        states = self.backbone(ids, training=training)  # (batch, time, hidden)
        real = ops.not_equal(ids, PAD)
        mask = ops.expand_dims(ops.cast(real, states.dtype), -1)  # (batch, time, 1): 0 at padding
        if self.pooling == "last":  # the state after the last real token
            last = ops.maximum(ops.sum(ops.cast(real, "int32"), axis=1) - 1, 0)
            pooled = ops.take_along_axis(states, ops.reshape(last, (-1, 1, 1)), axis=1)[:, 0]
        elif self.pooling == "cnn":
            features = ops.concatenate([conv(states * mask) for conv in self.convolutions], axis=-1)
            pooled = ops.max(features * mask, axis=1)  # ReLU features are >= 0: zeroed padding never wins
        else:
            pooled = ops.sum(states * mask, axis=1) / ops.maximum(ops.sum(mask, axis=1), 1.0)
        return self.head(self.head_dropout(pooled, training=training))  # (batch, labels)

    def train_step(self, *args: Any) -> dict:
        # Keras calls train_step(data) on TensorFlow and train_step(state, data) on JAX.
        if self.backbone_optimizer is None:
            return super().train_step(*args)
        import tensorflow as tf  # the two-rate step is TensorFlow's GradientTape (refused on other backends)

        x, y = args[-1][:2]
        with tf.GradientTape() as tape:
            y_pred = self(x, training=True)
            loss = self.compute_loss(x=x, y=y, y_pred=y_pred, training=True)
        self._loss_tracker.update_state(loss, sample_weight=ops.shape(x)[0])  # else metrics.jsonl logs loss 0
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

class FinetunedClassifier:
    """A fine-tuned classifier: its Keras network and the pre-trained run's tokenizer (a Classifier).

    Example:
        >>> import lmzoo, tempfile
        >>> from lmzoo.datasets.labelled import load_task_data
        >>> from lmzoo.models.tasks import PRESETS, finetune
        >>> pretrained = lmzoo.train("word2vec", lmzoo.load_corpus("rt-polarity-sample"), tempfile.mkdtemp(), preset="quick")
        >>> model = finetune(pretrained, load_task_data("rt-polarity-sample"), tempfile.mkdtemp(), PRESETS["quick"])
        >>> model.classify(["a moving , funny film ."])[0] in ("neg", "pos")
        True
    """

    family = FAMILY_NAME

    def __init__(self, config: FinetuneConfig, tokenizer: VocabularyTokenizer, network: SequenceClassifier,
                 labels: Sequence[str], context: int):
        self.config, self.tokenizer, self.network = config, tokenizer, network
        self.labels, self.context = tuple(labels), context

    def num_params(self) -> int:
        return int(self.network.count_params())

    def ids(self, texts: Sequence[str]) -> np.ndarray:
        return pad([encode(self.tokenizer, text) for text in texts], self.context)

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

def build_classifier(config: FinetuneConfig, pretrained: Backbone, labels: Sequence[str]) -> tuple[SequenceClassifier, int]:
    backbone = pretrained.backbone()
    backbone = fresh(backbone) if config.init == "scratch" else copy_weights(backbone)
    length = min(config.context, getattr(backbone, "context", None) or config.context)
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

