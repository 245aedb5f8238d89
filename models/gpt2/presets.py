"""Where a GPT-2 comes from: a keras-hub preset name or local directory (`load_preset`), or a tiny one built here."""

from __future__ import annotations

import os
import socket
import threading
from pathlib import Path
from typing import Any

from lmzoo.errors import LmzooError, did_you_mean
from lmzoo.models.gpt2.model import GPT2Config, GPT2Model
from lmzoo.models.gpt2.tokenizer import BPETokenizer, train_byte_level_bpe

PRESETS_ENV = "LMZOO_PRESETS"
DEFAULT_PRESETS_DIR = Path.home() / ".cache" / "lmzoo" / "presets"
# Where a handle's files come from; a built-in name such as "gpt2_base_en" is a Kaggle handle.
_HOSTS = {"hf://": "huggingface.co", "modelscope://": "www.modelscope.cn", "kaggle://": "www.kaggle.com"}



def _reachable(host: str, timeout: float = 3.0) -> bool:
    """True if a TCP connection to host:443 opens within `timeout` seconds (DNS included)."""
    result: list[bool] = []

    def connect() -> None:
        try:
            socket.create_connection((host, 443), timeout=timeout).close()
            result.append(True)
        except OSError:
            result.append(False)

    # A thread bounds the DNS look-up too, which socket timeouts do not cover.
    thread = threading.Thread(target=connect, daemon=True)
    thread.start()
    thread.join(timeout + 0.5)
    return bool(result and result[0])


def presets_dir() -> Path:
    """Where local preset directories are looked up by name: `$LMZOO_PRESETS` or ~/.cache/lmzoo/presets."""
    return Path(os.environ.get(PRESETS_ENV, DEFAULT_PRESETS_DIR)).expanduser()


def _resolve(preset: str) -> str:
    """A local preset directory for `preset` if there is one, else the hub handle (checked reachable)."""
    import keras_nlp

    path = Path(preset).expanduser()
    if path.is_dir():
        if not (path / "config.json").is_file():
            raise LmzooError(f"'{path}' is not a keras-hub preset directory (no config.json)",
                             "save one with GPT2CausalLM.save_to_preset(dir) or lmzoo.models.gpt2.make_tiny_preset")
        return str(path)
    if preset.startswith((".", "/", "~")) or (os.sep in preset and "://" not in preset):
        raise LmzooError(f"preset directory '{preset}' does not exist", "pass an existing preset directory")
    local = presets_dir() / preset
    if (local / "config.json").is_file():
        return str(local)
    known = list(keras_nlp.models.GPT2CausalLM.presets)
    if "://" not in preset and preset not in known:
        raise LmzooError(f"unknown GPT-2 preset '{preset}'", did_you_mean(preset, known))
    host = next((h for prefix, h in _HOSTS.items() if preset.startswith(prefix)), _HOSTS["kaggle://"])
    if not _reachable(host):
        raise _no_network(preset, host)
    return preset


def _no_network(preset: str, host: str) -> LmzooError:
    name = preset.rstrip("/").split("/")[-1]
    return LmzooError(
        f"no network: cannot fetch GPT-2 preset '{preset}' from {host}",
        f"on a machine with internet run keras_nlp.models.GPT2CausalLM.from_preset('{preset}')"
        f".save_to_preset(DIR), put the preset directory at {presets_dir() / name} (or set {PRESETS_ENV}) "
        "and pass its path",
    )


def load_preset(preset: str = "gpt2_base_en", **overrides: Any) -> GPT2Model:
    """Load a pre-trained GPT-2 from a keras-hub preset name or a local preset directory.

    Both go through `GPT2CausalLM.from_preset`. A name is first looked up as a directory under
    `presets_dir()`; a hub preset needs internet, and without it this fails at once.

    Args:
        preset: "gpt2_base_en" (and the other names in `GPT2CausalLM.presets`), a
            "kaggle://"/"hf://" handle, or a path to a directory written by `save_to_preset`.
        **overrides: fields of `GPT2Config` (stride, batch_size, seed).

    Example:
        model = load_preset("gpt2_base_en")  # online, or with a local copy in presets_dir()
        model.generate("My name is", max_length=20, num_return_sequences=2, sampler="top_k")
    """
    import keras_nlp

    fields = set(GPT2Config.__dataclass_fields__) - {"source"}
    for name in overrides:
        if name not in fields:
            raise LmzooError(f"unknown GPT-2 option '{name}'", did_you_mean(name, fields))
    config = GPT2Config(source=str(preset), **overrides)
    config.validate()
    source = _resolve(str(preset))
    try:
        layer = keras_nlp.models.GPT2Tokenizer.from_preset(source)
        causal_lm = keras_nlp.models.GPT2CausalLM.from_preset(source, preprocessor=None)
    except OSError as err:  # requests' ConnectionError and friends: the download failed
        host = next((h for prefix, h in _HOSTS.items() if source.startswith(prefix)), _HOSTS["kaggle://"])
        raise _no_network(source, host) from err
    except (ValueError, KeyError, TypeError) as err:
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise LmzooError(f"cannot load GPT-2 preset '{preset}': {first}",
                         "is it a GPT-2 preset saved with save_to_preset?") from err
    return GPT2Model(causal_lm, BPETokenizer(layer), config)



def build_tiny_gpt2(
    text: str,
    *,
    vocabulary_size: int = 512,
    num_layers: int = 2,
    num_heads: int = 2,
    hidden_dim: int = 32,
    intermediate_dim: int = 64,
    max_sequence_length: int = 64,
    seed: int = 0,
) -> Any:
    """A tiny untrained `GPT2CausalLM` (with its preprocessor) whose BPE vocabulary is learned from `text`.

    Same classes as the real thing (GPT2Tokenizer, GPT2CausalLMPreprocessor, GPT2Backbone,
    GPT2CausalLM), tiny sizes.

    Example:
        >>> causal_lm = build_tiny_gpt2("Hello world. 你好，世界。", vocabulary_size=300)
        >>> causal_lm.backbone.num_layers
        2
    """
    import keras
    import keras_nlp

    vocabulary, merges = train_byte_level_bpe(text, vocabulary_size)
    keras.utils.set_random_seed(seed)
    tokenizer = keras_nlp.models.GPT2Tokenizer(vocabulary=vocabulary, merges=merges)
    preprocessor = keras_nlp.models.GPT2CausalLMPreprocessor(tokenizer=tokenizer, sequence_length=max_sequence_length)
    backbone = keras_nlp.models.GPT2Backbone(
        vocabulary_size=len(vocabulary), num_layers=num_layers, num_heads=num_heads, hidden_dim=hidden_dim,
        intermediate_dim=intermediate_dim, max_sequence_length=max_sequence_length,
    )
    return keras_nlp.models.GPT2CausalLM(backbone=backbone, preprocessor=preprocessor)


def make_tiny_preset(directory: str | Path, text: str, **sizes: Any) -> Path:
    """Build a tiny untrained GPT-2 (`build_tiny_gpt2`) and save it as a keras-hub preset directory.

    `load_preset(directory)` then takes the path a hub preset name takes.

    Example:
        >>> import tempfile
        >>> directory = make_tiny_preset(tempfile.mkdtemp(), "Hello world. 你好，世界。")
        >>> load_preset(str(directory)).tokenizer.decode([0, 1])
        '!"'
    """
    directory = Path(directory)
    build_tiny_gpt2(text, **sizes).save_to_preset(str(directory))
    return directory


