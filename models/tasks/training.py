"""`finetune` (a pre-trained run → a fine-tuned run directory), `load`, and the `finetuned` family entry."""

from __future__ import annotations

import importlib
import math
from collections.abc import Sequence
from typing import Any

import keras
import numpy as np

from lmzoo.config import from_dict, rename_keys, to_dict
from lmzoo.datasets.labelled import LabelledData, PairData, TaskData
from lmzoo.datasets.tokenizers import fit_tokenizer, load_tokenizer
from lmzoo.errors import LmzooError
from lmzoo.models.callbacks import fit_steps
from lmzoo.models.tasks.classify import FinetunedClassifier, build_classifier
from lmzoo.models.tasks.config import FAMILY_NAME, MODEL_FILE, PRESETS, FinetuneConfig
from lmzoo.models.tasks.encoding import check_tokenizer, encode, pad, translation_rows
from lmzoo.models.tasks.translate import (
    SOURCE_TOKENIZER_FILE,
    FinetunedTranslator,
    build_translator,
    encoder_decoder_rows,
)
from lmzoo.protocols import Backbone, CausalNetwork, Family, OwnIdsBackbone, ZooModel
from lmzoo.runs import RunDir


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

def total_steps(config: FinetuneConfig, examples: int) -> int:
    """The training steps: `config.steps`, else `config.epochs` passes over `examples` (at least one).

    Example:
        >>> total_steps(FinetuneConfig(epochs=0.5, batch_size=32), 100), total_steps(FinetuneConfig(steps=7), 100)
        (2, 7)
    """
    if config.steps is not None:
        return config.steps
    return max(1, math.ceil(config.epochs * math.ceil(examples / config.batch_size)))

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

def _dataset(x: Any, y: np.ndarray, weights: np.ndarray | None, batch_size: int, seed: int, shuffle: bool) -> Any:
    import tensorflow as tf

    ds = tf.data.Dataset.from_tensor_slices((x, y) if weights is None else (x, y, weights))
    if shuffle:
        ds = ds.shuffle(len(y), seed=seed, reshuffle_each_iteration=True).repeat()
    return ds.batch(batch_size).prefetch(tf.data.AUTOTUNE)


def _pairs_dataset(x: Any, y: np.ndarray, weights: np.ndarray, batch_size: int, seed: int, shuffle: bool) -> Any:
    """Translation batches of similar length, each cut to its longest row (rows are padded to
    `max_length`, but Tatoeba's are about a third of it: the padding was most of the compute).

    Training rows are shuffled, then grouped by target length into buckets (`bucket_by_sequence_length`),
    so that a batch wastes few padded steps; the trace has a dynamic time axis, so the varying
    widths never retrace the train step.
    """
    import tensorflow as tf

    def width(ids: Any) -> Any:  # pads come last, so the longest row's count of non-pads
        return tf.reduce_max(tf.math.count_nonzero(ids, axis=1, dtype=tf.int32))

    def trim(inputs: Any, targets: Any, w: Any) -> tuple[Any, Any, Any]:
        n = width(targets)
        if isinstance(inputs, tuple):  # encoder–decoder: (source, decoder inputs)
            inputs = (inputs[0][:, : width(inputs[0])], inputs[1][:, :n])
        else:
            inputs = inputs[:, :n]
        return inputs, targets[:, :n], w[:, :n]

    ds = tf.data.Dataset.from_tensor_slices((x, y, weights))
    if shuffle:
        lengths = np.count_nonzero(y, axis=1)
        boundaries = sorted({int(b) for b in np.percentile(lengths, [10, 25, 40, 55, 70, 85, 95]) + 1})
        ds = ds.shuffle(len(y), seed=seed, reshuffle_each_iteration=True).repeat()
        ds = ds.bucket_by_sequence_length(lambda _x, t, _w: tf.math.count_nonzero(t, dtype=tf.int32), boundaries,
                                          [batch_size] * (len(boundaries) + 1))
    else:
        ds = ds.batch(batch_size)
    return ds.map(trim).prefetch(tf.data.AUTOTUNE)


def finetune(pretrained: ZooModel, data: TaskData, out: str | RunDir, config: FinetuneConfig | None = None, *,
             pretrained_run: str = "", overwrite: bool = False) -> FinetunedClassifier | FinetunedTranslator:
    """Fine-tune `pretrained` on `data` into run directory `out` (resuming from its checkpoint).

    `config.task` says what to learn ("classify" labelled examples, "translate" pairs). `out` is
    checked as `lmzoo.train` checks it (`RunDir.training`): a finished run, or an unfinished one with
    another config, data or pre-trained run, is refused unless `overwrite=True`. config.json
    records the data's provenance (name, kind, resolved path, sha256), which `lmzoo evaluate`
    reloads (`reload_task_data`).
    """
    config = config or PRESETS["default"]
    config.validate()
    run = out if isinstance(out, RunDir) else RunDir(out)
    with run.locked():  # before any work: a second run into `out` is refused at once (`begin` checks the rest)
        return _finetune(pretrained, data, run, config, pretrained_run, overwrite)


def _finetune(pretrained: ZooModel, data: TaskData, run: RunDir, config: FinetuneConfig, pretrained_run: str,
              overwrite: bool) -> FinetunedClassifier | FinetunedTranslator:
    _check_task(config, pretrained, data)
    provenance = data.provenance()  # of the data as given: `evaluate` reverses it again
    if isinstance(data, PairData) and config.direction == "reverse":
        data = data.reversed()
    tokenizer = pretrained.backbone_tokenizer() if isinstance(pretrained, OwnIdsBackbone) else pretrained.tokenizer
    train = subsample(list(data.train), config.max_examples, config.seed)
    source_tokenizer = None
    if isinstance(data, PairData) and config.source_tokenizer != "shared":
        source_tokenizer = fit_tokenizer(config.source_tokenizer, "".join(s + "\n" for s, _ in train),
                                         min_count=config.source_min_count)
        texts = [t for _, t in train]  # the pre-trained tokenizer reads the targets only
    else:
        texts = [t for pair in train for t in pair] if isinstance(data, PairData) else [t for t, _ in train]
    unknown = check_tokenizer(tokenizer, texts, config.max_unknown_rate, "task's training")
    total = total_steps(config, len(train))
    keras.utils.set_random_seed(config.seed)
    extra: dict[str, Any] = {}
    if isinstance(data, LabelledData):
        network, length = build_classifier(config, pretrained, data.labels)
        index = {label: i for i, label in enumerate(data.labels)}

        def arrays(items: Sequence[tuple[str, str]]) -> tuple[Any, np.ndarray, None]:
            return (pad([encode(tokenizer, t) for t, _ in items], length),
                    np.array([index[label] for _, label in items], np.int32), None)

        extra["labels"] = list(data.labels)
    else:
        network, length, start = build_translator(config, pretrained, source_tokenizer, total)

        def arrays(items: Sequence[tuple[str, str]]) -> tuple[Any, np.ndarray, np.ndarray]:
            if config.architecture == "decoder_only":
                x, y, w = translation_rows(tokenizer, items, length)
                return x, y, w
            return encoder_decoder_rows(tokenizer, items, length, source_tokenizer)

        extra |= {"source_language": data.source_language, "target_language": data.target_language,
                  "network_start": start}
    identity = {"pretrained_run": pretrained_run, "pretrained_family": pretrained.family}
    with run.training(FAMILY_NAME, to_dict(config), data, overwrite=overwrite, identity=identity, **provenance,
                      **identity, backbone_module=type(pretrained).__module__, context=length,
                      train_examples=len(train), unknown_rate=unknown, **extra):
        tokenizer.save(run.tokenizer_path)
        if source_tokenizer is not None:
            source_tokenizer.save(run.file(SOURCE_TOKENIZER_FILE))
        x, y, w = arrays(train)
        chunk = math.ceil(total / math.ceil(total / config.checkpoint_every_n_steps))  # equal chunks
        valid = arrays(data.valid) if data.valid else None
        tokens_per_step = int(np.count_nonzero(x[0] if isinstance(x, tuple) else x) / len(y) * config.batch_size)
        batches = _dataset if w is None else _pairs_dataset
        fit_steps(network, run, batches(x, y, w, config.batch_size, config.seed, shuffle=True), steps=total,
                  chunk=chunk, tokens_per_step=tokens_per_step, shuffle=False,
                  validation_data=batches(*valid, 256, config.seed, shuffle=False) if valid else None)
        if isinstance(data, LabelledData):
            model: FinetunedClassifier | FinetunedTranslator = FinetunedClassifier(config, tokenizer, network,
                                                                                   data.labels, length)
        else:
            model = FinetunedTranslator(config, tokenizer, network, length, data.source_language,
                                        data.target_language, source_tokenizer)
        model.save(run)
        run.mark_complete()
    return model


def load(run: RunDir) -> FinetunedClassifier | FinetunedTranslator:
    """Reload a fine-tuned run (its `.keras` file in safe mode)."""
    saved = rename_keys(run.read_config(), {"sequence_length": "context"})  # runs fine-tuned before the rename
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
        return FinetunedClassifier(config, tokenizer, network, saved["labels"], saved["context"])
    source = run.file(SOURCE_TOKENIZER_FILE)
    return FinetunedTranslator(config, tokenizer, network, saved["context"], saved["source_language"],
                               saved["target_language"], load_tokenizer(source) if source.exists() else None)


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
