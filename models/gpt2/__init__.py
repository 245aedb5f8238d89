"""Pre-trained GPT-2 through keras-nlp: load a preset, score text, generate, fine-tune.

`load_preset("gpt2_base_en")` fetches a keras-hub preset (needs internet; offline it fails at once in
one line); `load_preset("path/to/dir")` loads a local preset directory by the same
`GPT2CausalLM.from_preset` path; `make_tiny_preset(directory, text)` builds a tiny untrained GPT-2, the
offline stand-in for tests and lessons. Scoring goes through `window_lm.rolling_log_probs`; generation
uses keras-nlp's samplers over the key/value cache. As a family, `lmzoo train gpt2 --set
source=NAME_OR_DIR` copies the preset into the run directory. Implements LanguageModel, Generator and
Backbone (OwnIdsBackbone: zoo ids are GPT-2's plus 4, so padding with 0 means padding). Files:
`tokenizer.py`, `model.py`, `presets.py`; design notes in `benchmarks/results/NOTES.md` (`## gpt2`).

References: Radford et al. 2019, "Language Models are Unsupervised Multitask Learners";
keras-hub `GPT2CausalLM` (https://keras.io/keras_hub/api/models/gpt2/).

Example:
    >>> import tempfile
    >>> model = load_preset(str(make_tiny_preset(tempfile.mkdtemp(), "the cat sat on the mat")))
    >>> model.tokenizer.encode("!"), model.backbone_tokenizer().encode("!")  # "!" is GPT-2's id 0
    ([0], [4])
"""

from __future__ import annotations

from typing import Any

from lmzoo.config import from_dict, to_dict
from lmzoo.datasets.corpus import Corpus
from lmzoo.models.gpt2.model import GPT2Config, GPT2Model, ZooIdsGPT2Backbone
from lmzoo.models.gpt2.presets import (
    PRESETS_ENV,
    build_tiny_gpt2,
    load_preset,
    make_tiny_preset,
    presets_dir,
)
from lmzoo.models.gpt2.tokenizer import BPETokenizer, ZooIdsBPETokenizer, train_byte_level_bpe
from lmzoo.protocols import Family
from lmzoo.runs import RunDir

__all__ = ["FAMILY", "PRESETS_ENV", "BPETokenizer", "GPT2Config", "GPT2Model", "ZooIdsBPETokenizer",
           "ZooIdsGPT2Backbone", "build_tiny_gpt2", "load", "load_preset", "make_tiny_preset", "presets_dir",
           "train", "train_byte_level_bpe"]


def _options(config: GPT2Config) -> dict[str, Any]:
    return {k: v for k, v in to_dict(config).items() if k != "source"}


def train(config: GPT2Config, corpus: Corpus, run: RunDir) -> GPT2Model:
    """Load the preset (no training: the corpus is only scored later) into the run directory."""
    with run.timed():
        model = load_preset(config.source, **_options(config))
    model.save_preset(run.file("preset"))
    run.mark_complete()
    return model


def load(run: RunDir) -> GPT2Model:
    config = from_dict(GPT2Config, run.read_config()["config"])
    model = load_preset(str(run.file("preset")), **_options(config))
    model.config = config
    return model


FAMILY = Family(
    name="gpt2",
    summary="pre-trained GPT-2 from a keras-nlp preset name or local preset directory (loaded, not trained)",
    config_cls=GPT2Config,
    presets={"quick": GPT2Config(), "default": GPT2Config()},
    train=train,
    load=load,
)
