"""The family table: name → module that defines it, imported only when asked for.

Each family module registers itself by defining `FAMILY` (a `lmzoo.protocols.Family`); this
table only says where to find it, so `lmzoo --help` never imports TensorFlow.
"""

from __future__ import annotations

import importlib
import os
from pathlib import Path
from typing import Any

from lmzoo.config import replace, to_dict
from lmzoo.errors import LmzooError, did_you_mean
from lmzoo.protocols import Family, ZooModel
from lmzoo.runs import RunDir

FAMILIES: dict[str, str] = {
    "unigram": "lmzoo.models.unigram:FAMILY",
    "ngram": "lmzoo.models.ngram:FAMILY",
    "word2vec": "lmzoo.models.word2vec:FAMILY",
    "word2vec-gensim": "lmzoo.models.word2vec:GENSIM_FAMILY",
    "seq2seq": "lmzoo.models.seq2seq:FAMILY",
    "rnnlm": "lmzoo.models.rnnlm:FAMILY",
    "transformer": "lmzoo.models.transformer:FAMILY",
    "gpt2": "lmzoo.models.gpt2:FAMILY",
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
    family_name: str, corpus, out: str | os.PathLike, *, preset: str = "default", **overrides: Any
) -> ZooModel:
    """Train a family on a corpus into run directory `out` (resuming if it holds a checkpoint).

    Example:
        >>> from lmzoo.datasets import load_corpus
        >>> import tempfile
        >>> model = train("unigram", load_corpus("lee"), tempfile.mkdtemp())
        >>> model.family
        'unigram'
    """
    family = get_family(family_name)
    config = make_config(family, preset, overrides)
    run = RunDir(out)
    run.write_config(family.name, to_dict(config), corpus=corpus.name, preset=preset)
    return family.train(config, corpus, run)


def load(run_dir: str | os.PathLike) -> ZooModel:
    """Reload the model of a finished run directory."""
    path = Path(run_dir)
    if not path.is_dir():
        raise LmzooError(f"run directory '{path}' does not exist", "train one with `lmzoo train FAMILY --out DIR`")
    run = RunDir(path)
    family = get_family(run.read_config()["family"])
    if not run.is_complete():
        raise LmzooError(f"run '{path}' did not finish training", "run `lmzoo train` again with the same --out to resume it")
    return family.load(run)

