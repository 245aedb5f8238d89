"""The family table: name → module that defines it, imported only when asked for.

Each family module registers itself by defining `FAMILY` (a `lmzoo.protocols.Family`); this
table only says where to find it, so `lmzoo --help` never imports TensorFlow.
"""

from __future__ import annotations

import importlib
import os
import zipfile
from pathlib import Path
from typing import Any

from lmzoo.config import replace, to_dict
from lmzoo.errors import LmzooError, did_you_mean
from lmzoo.protocols import Family, ZooModel
from lmzoo.runs import RunDir

# What a damaged or missing weight file raises inside a family's `load` (numpy, h5py, zip, Keras).
_LOAD_ERRORS = (OSError, ValueError, KeyError, IndexError, EOFError, zipfile.BadZipFile)

FAMILIES: dict[str, str] = {
    "unigram": "lmzoo.models.unigram:FAMILY",
    "ngram": "lmzoo.models.ngram:FAMILY",
    "word2vec": "lmzoo.models.word2vec:FAMILY",
    "word2vec-gensim": "lmzoo.models.word2vec:GENSIM_FAMILY",
    "seq2seq": "lmzoo.models.seq2seq:FAMILY",
    "rnnlm": "lmzoo.models.rnnlm:FAMILY",
    "transformer": "lmzoo.models.transformer:FAMILY",
    "gpt2": "lmzoo.models.gpt2:FAMILY",
    "finetuned": "lmzoo.models.tasks:FAMILY",
}


def get_family(name: str) -> Family:
    """The family called `name`, with a did-you-mean error for unknown names.

    Example:
        >>> get_family("unigram").name
        'unigram'
    """
    if name not in FAMILIES:
        raise LmzooError(f"unknown family '{name}'", did_you_mean(name, FAMILIES))
    module_name, _, attribute = FAMILIES[name].partition(":")
    return getattr(importlib.import_module(module_name), attribute)


def make_config(family: Family, preset: str = "default", overrides: dict[str, Any] | None = None) -> Any:
    """The named preset of `family` with `overrides` applied and type-checked."""
    if preset not in family.presets:
        raise LmzooError(f"unknown preset '{preset}' for {family.name}", did_you_mean(preset, family.presets))
    return replace(family.presets[preset], overrides or {})


def train(
    family_name: str, corpus, out: str | os.PathLike, *, preset: str = "default", overwrite: bool = False,
    **overrides: Any,
) -> ZooModel:
    """Train a family on a corpus into run directory `out` (resuming if it holds a checkpoint).

    Before anything is written, `out` is checked (`RunDir.training`, as `lmzoo finetune` checks
    it): a finished run, another family's run, or an unfinished run with another config or corpus
    is refused with one line unless `overwrite=True`, which starts over.

    Example:
        >>> from lmzoo.datasets import load_corpus
        >>> import tempfile
        >>> model = train("unigram", load_corpus("lee"), tempfile.mkdtemp())
        >>> model.family
        'unigram'
    """
    family = get_family(family_name)
    # `segmenter` belongs to the word tokenizer, not to any family's config: it travels with the corpus.
    segmenter = overrides.pop("segmenter", None)
    config = make_config(family, preset, overrides)
    extra = {}
    if segmenter not in (None, "none"):
        if getattr(config, "tokenizer", "word") != "word":
            raise LmzooError(f"segmenter={segmenter} applies to the word tokenizer only, not {config.tokenizer}",
                             "drop --set segmenter, or use --set tokenizer=word")
        corpus, extra = corpus.segmented(segmenter), {"segmenter": segmenter}
    with RunDir(out).training(family.name, to_dict(config), corpus, overwrite=overwrite, **corpus.provenance(),
                              preset=preset, **extra) as run:
        return family.train(config, corpus, run)


def load(run_dir: str | os.PathLike) -> ZooModel:
    """Reload the model of a finished run directory; a missing or damaged file is one LmzooError."""
    path = Path(run_dir)
    if not path.is_dir():
        raise LmzooError(f"run directory '{path}' does not exist", "train one with `lmzoo train FAMILY --out DIR`")
    run = RunDir(path)
    recorded = run.read_config()
    if not isinstance(recorded, dict) or not isinstance(recorded.get("family"), str):
        raise LmzooError(f"'{run.file('config.json')}' does not name a family", "retrain the run")
    family = get_family(recorded["family"])
    if not run.is_complete():
        raise LmzooError(f"run '{path}' did not finish training", "run `lmzoo train` again with the same --out to resume it")
    try:
        return family.load(run)
    except _LOAD_ERRORS as err:
        detail = f"{type(err).__name__}: {err}".splitlines()[0][:200]
        raise LmzooError(f"the {family.name} run '{path}' has a missing or damaged file ({detail})",
                         "retrain it with `lmzoo train ... --overwrite`") from None

