"""Pre-trained GPT-2 through keras-nlp: load a preset, score text, generate.

The articles' usage - load a pre-trained GPT-2, encode a prompt, generate with `max_length`
and `num_return_sequences`, decode - on keras-nlp's `GPT2CausalLM`, wrapped so that the
harness can score it like any zoo model.

- `load_preset("gpt2_base_en")` fetches a keras-hub preset (needs internet);
  `load_preset("path/to/dir")` loads a local preset directory through the very same
  `GPT2CausalLM.from_preset` code path. Without network it fails at once with a one-line
  `LmzooError` saying where to put a preset directory.
- `make_tiny_preset(directory, text)` builds a tiny, untrained GPT-2 (byte-level BPE learned
  from `text`) and saves it with `save_to_preset`: the offline stand-in for tests and lessons.
- Scoring uses rolling windows over the GPT-2 BPE ids (each token predicted once, with at
  least half a context of history); generation uses keras-nlp's samplers with the model's
  key/value cache and stops at `<|endoftext|>`.

- Fine-tuning for classification (`lmzoo finetune GPT2_RUN --task classify ...`) builds on
  `backbone()`, GPT-2's final-norm states, as for the zoo's own Transformer.

GPT-2's ids do not follow the zoo convention that ids 0-3 are `<pad>`, `<unk>`, `<s>`, `</s>`:
id 0 is "!" and `<|endoftext|>` (50256 in the real model) is both the start and end token.
Scoring and generation use GPT-2's own ids (`BPETokenizer`). Fine-tuning reads zoo ids
(`backbone_tokenizer()`, a `ZooIdsBPETokenizer`: every id plus 4) and `ZooIdsGPT2Backbone`
moves them back, so padding with 0 means padding for GPT-2 too. Byte-level BPE has no unknown
token: every string round-trips exactly.

Files: `tokenizer.py` (both tokenizers, byte-level BPE training), `model.py` (`GPT2Model`, the
backbone), `presets.py` (hub names, local directories, the tiny offline preset).

Implements: LanguageModel, Generator, Backbone (OwnIdsBackbone). As a family (`lmzoo train gpt2
--set source=NAME_OR_DIR`) "training" loads the preset and copies it into the run directory, so
that `evaluate`, `generate` and `finetune` work on it offline afterwards. Decoder-only
translation (which needs the output layer over zoo ids) is not implemented for GPT-2.

Example:
    >>> import tempfile
    >>> model = load_preset(str(make_tiny_preset(tempfile.mkdtemp(), "the cat sat on the mat")))
    >>> model.tokenizer.encode("!"), model.backbone_tokenizer().encode("!")  # "!" is GPT-2's id 0
    ([0], [4])

References: Radford et al. 2019, "Language Models are Unsupervised Multitask Learners";
keras-hub `GPT2CausalLM` (https://keras.io/keras_hub/api/models/gpt2/).
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
