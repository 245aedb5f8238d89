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

GPT-2's ids do not follow the zoo convention that ids 0-3 are `<pad>`, `<unk>`, `<s>`, `</s>`:
id 0 is "!" and `<|endoftext|>` (50256 in the real model) is both the start and end token.
Byte-level BPE has no unknown token: every string round-trips exactly.

Implements: LanguageModel, Generator. As a family (`lmzoo train gpt2 --set source=NAME_OR_DIR`)
"training" loads the preset and copies it into the run directory, so that `evaluate` and
`generate` work on it offline afterwards; fine-tuning is not implemented.

References: Radford et al. 2019, "Language Models are Unsupervised Multitask Learners";
keras-hub `GPT2CausalLM` (https://keras.io/keras_hub/api/models/gpt2/).
"""

from __future__ import annotations

import codecs
import json
import os
import socket
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from lmzoo.config import from_dict, to_dict
from lmzoo.datasets.corpus import Corpus
from lmzoo.errors import LmzooError, did_you_mean
from lmzoo.models import sampling
from lmzoo.protocols import Family
from lmzoo.runs import RunDir, write_text_atomic

PRESETS_ENV = "LMZOO_PRESETS"
DEFAULT_PRESETS_DIR = Path.home() / ".cache" / "lmzoo" / "presets"
# Where a handle's files come from; a built-in name such as "gpt2_base_en" is a Kaggle handle.
_HOSTS = {"hf://": "huggingface.co", "modelscope://": "www.modelscope.cn", "kaggle://": "www.kaggle.com"}


@dataclass(frozen=True)
class GPT2Config:
    """How a loaded GPT-2 is used (its architecture comes from the preset).

    Attributes:
        source: the keras-hub preset name or local preset directory it is loaded from
            (named `source` so as not to clash with the zoo's "quick"/"default" presets).
        stride: tokens scored per rolling window; None means half the context, so every
            token is predicted with at least half a context of history.
        batch_size: windows per forward pass when scoring.
        seed: default seed for sampling when `generate` gets none.
    """

    source: str = "gpt2_base_en"
    stride: int | None = None
    batch_size: int = 4
    seed: int = 0

    def validate(self) -> None:
        if self.stride is not None and self.stride < 1:
            raise LmzooError(f"stride={self.stride} must be >= 1")
        if self.batch_size < 1:
            raise LmzooError(f"batch_size={self.batch_size} must be >= 1")


def _byte_decoder() -> dict[str, int]:
    """GPT-2's map from its 256 printable stand-in characters back to byte values.

    The table of GPT-2's `encoder.py` (`bytes_to_unicode`), kept here rather than imported from
    a private keras-hub module: printable Latin-1 bytes stand for themselves, and the other 68
    bytes are moved to code points from 256 up, in byte order.

    Example:
        >>> decoder = _byte_decoder()
        >>> len(decoder), decoder["A"], decoder["Ġ"], decoder["Ċ"]  # Ġ is the space, Ċ the newline
        (256, 65, 32, 10)
    """
    printable = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1), *range(ord("®"), ord("ÿ") + 1)]
    table, shift = {}, 0
    for byte in range(256):
        if byte in printable:
            table[chr(byte)] = byte
        else:
            table[chr(256 + shift)] = byte
            shift += 1
    return table


class BPETokenizer:
    """The zoo's Tokenizer protocol over a keras-nlp `GPT2Tokenizer` (byte-level BPE).

    Encoding is keras-nlp's; decoding maps ids to bytes first, so that text is only made
    from complete UTF-8 characters (a Han character is often split over two or three ids).

    Example:
        >>> import keras_nlp
        >>> vocabulary, merges = train_byte_level_bpe("the cat sat on the mat", 300)
        >>> tokenizer = BPETokenizer(keras_nlp.models.GPT2Tokenizer(vocabulary=vocabulary, merges=merges))
        >>> tokenizer.decode(tokenizer.encode("我明天要去看电影。"))
        '我明天要去看电影。'
    """

    kind = "gpt2-bpe"
    unk_id = None  # byte-level BPE has no unknown token: every text encodes

    def __init__(self, layer: Any):
        self.layer = layer
        self.vocabulary = list(layer.get_vocabulary())
        self.index = {token: i for i, token in enumerate(self.vocabulary)}
        self.end_token_id = int(layer.end_token_id)
        self.start_token_id = int(layer.start_token_id)
        decoder = _byte_decoder()
        # Special tokens such as <|endoftext|> are not made of stand-in characters: their
        # bytes are their own UTF-8 spelling.
        self._bytes = [
            bytes(decoder[c] for c in token) if all(c in decoder for c in token) else token.encode("utf-8")
            for token in self.vocabulary
        ]

    def encode(self, text: str) -> list[int]:
        """BPE ids of `text`, without start or end token."""
        if not text:
            return []
        return np.asarray(self.layer.tokenize(text)).astype(np.int64).tolist()

    def decode_bytes(self, ids: Sequence[int]) -> bytes:
        """The raw bytes the ids stand for (may end inside a character)."""
        return b"".join(self._bytes[int(i)] for i in ids)

    def decode(self, ids: Sequence[int]) -> str:
        """Text of the ids; bytes that are not valid UTF-8 become U+FFFD (never for encoded text)."""
        return self.decode_bytes(ids).decode("utf-8", errors="replace")

    def decode_stream(self, ids: Sequence[int]) -> Iterator[str]:
        """Text piece by piece as ids arrive, never emitting half a character.

        Example:
            ids = tokenizer.encode("电影")   # 6 byte-level ids
            list(tokenizer.decode_stream(ids))  # ['电', '影']: never a lone U+FFFD
        """
        decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        for i in ids:
            piece = decoder.decode(self._bytes[int(i)])
            if piece:
                yield piece

    def vocabulary_size(self) -> int:
        return len(self.vocabulary)

    def token_to_id(self, token: str) -> int:
        if token not in self.index:
            raise LmzooError(f"'{token}' is not a GPT-2 BPE token", "byte-level BPE has no <unk>; encode text instead")
        return self.index[token]

    def id_to_token(self, index: int) -> str:
        return self.vocabulary[index]

    def save(self, path: str | Path) -> None:
        """Plain JSON: kind, vocabulary (token -> id) and merges; rebuilt with `BPETokenizer.load`."""
        data = {"kind": self.kind, "vocabulary": self.index, "merges": list(self.layer.merges)}
        write_text_atomic(path, json.dumps(data, ensure_ascii=False))

    @classmethod
    def load(cls, path: str | Path) -> BPETokenizer:
        """Rebuild a tokenizer written by `save`."""
        import keras_nlp

        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
            return cls(keras_nlp.models.GPT2Tokenizer(vocabulary=data["vocabulary"], merges=data["merges"]))
        except FileNotFoundError:
            raise LmzooError(f"'{path}' is missing", "save the tokenizer first") from None
        except (json.JSONDecodeError, KeyError, TypeError, ValueError) as err:
            raise LmzooError(f"'{path}' is not a saved GPT-2 tokenizer ({type(err).__name__})") from None

    def __repr__(self) -> str:
        return f"BPETokenizer(vocabulary_size={self.vocabulary_size()})"


class GPT2Model:
    """A keras-nlp `GPT2CausalLM` behind the zoo's LanguageModel and Generator protocols.

    Example:
        >>> import tempfile
        >>> model = load_preset(str(make_tiny_preset(tempfile.mkdtemp(), "the cat sat on the mat")))
        >>> len(model.generate("the", max_length=5, num_return_sequences=2, sampler="top_k"))
        2
    """

    family = "gpt2"

    def __init__(self, causal_lm: Any, tokenizer: BPETokenizer, config: GPT2Config):
        self.causal_lm, self.tokenizer, self.config = causal_lm, tokenizer, config
        self.context_length = int(causal_lm.backbone.max_sequence_length)
        self._scorer = None
        self._sampler_key: tuple | None = None

    def num_params(self) -> int:
        return int(self.causal_lm.count_params())

    def logits(self, token_ids: np.ndarray, padding_mask: np.ndarray | None = None) -> np.ndarray:
        """Next-token logits, (batch, time, vocabulary), for a batch of id rows."""
        token_ids = np.asarray(token_ids, dtype=np.int32)
        if padding_mask is None:
            padding_mask = np.ones_like(token_ids, dtype=bool)
        out = self.causal_lm({"token_ids": token_ids, "padding_mask": np.asarray(padding_mask, dtype=bool)})
        return np.asarray(out, dtype=np.float32)

    def _target_log_probs(self, token_ids: np.ndarray, padding_mask: np.ndarray, targets: np.ndarray) -> np.ndarray:
        """log p(targets[:, j] | token_ids[:, :j+1]) without handing (batch, time, 50257) logits to numpy."""
        import keras
        from keras import ops

        if self._scorer is None:
            def score(ids, mask, tgt):
                logits = ops.cast(self.causal_lm({"token_ids": ids, "padding_mask": mask}), "float32")
                picked = ops.squeeze(ops.take_along_axis(logits, ops.expand_dims(tgt, -1), axis=-1), -1)
                return picked - ops.logsumexp(logits, axis=-1)

            # Compiled once per window shape on TensorFlow; eager elsewhere.
            if keras.config.backend() == "tensorflow":
                import tensorflow as tf

                score = tf.function(score, reduce_retracing=True)
            self._scorer = score
        out = self._scorer(token_ids.astype(np.int32), padding_mask, targets.astype(np.int32))
        return np.asarray(out, dtype=np.float64)

    def token_log_probs(self, ids: Sequence[int]) -> np.ndarray:
        """log p(ids[i] | ids[:i]) in nats, float64, in rolling windows of the model's context.

        The first id is predicted from `<|endoftext|>` (GPT-2's start of text). Each window of at
        most `context_length` tokens scores `stride` new tokens, the rest of it being history.
        """
        ids = np.asarray(ids, dtype=np.int64)
        n, length = len(ids), self.context_length
        stride = min(self.config.stride or max(1, length // 2), length)
        full = np.concatenate([[self.tokenizer.start_token_id], ids])
        windows = []  # (first input position, first target position, end of targets)
        for begin in range(1, n + 1, stride):
            end = min(begin + stride, n + 1)
            windows.append((max(0, end - 1 - length), begin, end))
        out = np.empty(n, dtype=np.float64)
        for b in range(0, len(windows), self.config.batch_size):
            group = windows[b : b + self.config.batch_size]
            width = max(end - 1 - start for start, _, end in group)
            x = np.zeros((len(group), width), dtype=np.int64)
            y = np.zeros_like(x)
            mask = np.zeros((len(group), width), dtype=bool)
            for row, (start, _, end) in enumerate(group):
                x[row, : end - 1 - start] = full[start : end - 1]
                y[row, : end - 1 - start] = full[start + 1 : end]
                mask[row, : end - 1 - start] = True
            scores = self._target_log_probs(x, mask, y)
            for row, (start, begin, end) in enumerate(group):
                out[begin - 1 : end - 1] = scores[row, begin - 1 - start : end - 1 - start]
        return out

    def _use_sampler(self, sampler: str, seed: int, temperature: float, top_k: int | None,
                     top_p: float | None, num_beams: int) -> None:
        """Compile the sampler into the task once per option set; re-seed it for every call.

        `compile` throws away the traced generate function, so it only runs when the options change;
        resetting the seed generator's state makes a seeded call reproducible without a retrace.
        """
        import keras

        key = (sampler, temperature, top_k, top_p, num_beams)
        if self._sampler_key != key:
            self.causal_lm.compile(sampler=self._keras_sampler(sampler, seed, temperature, top_k, top_p, num_beams))
            self._sampler_key = key
        generator = getattr(self.causal_lm.sampler, "seed_generator", None)
        if generator is not None:
            generator.state.assign(keras.random.SeedGenerator(seed).state.value)

    def _keras_sampler(self, sampler: str, seed: int | None, temperature: float, top_k: int | None,
                       top_p: float | None, num_beams: int) -> Any:
        import keras_nlp

        samplers = keras_nlp.samplers
        if sampler == "greedy":
            return samplers.GreedySampler()
        if sampler == "beam":
            return samplers.BeamSampler(num_beams=num_beams, temperature=temperature)
        if sampler == "top_k":
            return samplers.TopKSampler(k=top_k or 40, seed=seed, temperature=temperature)
        if sampler == "top_p":
            return samplers.TopPSampler(p=top_p or 0.9, k=top_k, seed=seed, temperature=temperature)
        return samplers.RandomSampler(seed=seed, temperature=temperature)

    def next_log_probs(self, prefix: Sequence[int]) -> np.ndarray:
        """log p(next | prefix) over the vocabulary by one full forward pass over the last context ids.

        The uncached path: beam search with several returns decodes with it, and it checks that
        the cached `generate_ids` gives the same tokens.
        """
        window = np.asarray(list(prefix)[-self.context_length :] or [self.tokenizer.start_token_id], dtype=np.int64)[None]
        logits = self.logits(window)[0, -1].astype(np.float64)
        return logits - (logits.max() + np.log(np.exp(logits - logits.max()).sum()))

    def generate_ids(
        self,
        prompt: str,
        *,
        max_length: int = 64,
        num_return_sequences: int = 1,
        sampler: str = "greedy",
        seed: int | None = None,
        temperature: float = 1.0,
        top_k: int | None = None,
        top_p: float | None = None,
        num_beams: int = 4,
        length_penalty: float = 1.0,
    ) -> list[list[int]]:
        """The new BPE ids of each continuation (at most `max_length`, `<|endoftext|>` removed).

        Uses keras-nlp's samplers over the model's key/value cache. A prompt that does not fit
        beside `max_length` new tokens in the context is truncated from the left (the most
        recent tokens are kept). Beam search with `num_return_sequences > 1` uses the zoo's
        `sampling.beam_search` (keras-nlp's BeamSampler returns one sequence per prompt).

        Example:
            model.generate_ids("The", max_length=8, num_return_sequences=2, sampler="top_k")
            # -> two lists of at most 8 ids each
        """
        checked = sampling.check_sampling_options(
            sampler, num_return_sequences=num_return_sequences, max_new_tokens=max_length,
            vocabulary_size=self.tokenizer.vocabulary_size(), temperature=temperature, top_k=top_k, top_p=top_p,
            num_beams=num_beams,
        )
        temperature, top_k, num_beams = checked["temperature"], checked.get("top_k"), checked["num_beams"]
        if max_length == 0:
            return [[] for _ in range(num_return_sequences)]
        if max_length >= self.context_length:
            raise LmzooError(f"max_length={max_length} leaves no room for the prompt in GPT-2's context of "
                             f"{self.context_length} tokens", f"ask for at most {self.context_length - 1} new tokens")
        end = self.tokenizer.end_token_id
        prompt_ids = [self.tokenizer.start_token_id, *self.tokenizer.encode(prompt)]
        prompt_ids = prompt_ids[-(self.context_length - max_length) :]
        seed = self.config.seed if seed is None else seed
        if sampler == "beam" and num_return_sequences > 1:
            news = sampling.beam_search(self.next_log_probs, prompt_ids, num_beams=num_beams,
                                        max_new_tokens=max_length, eos_id=end, length_penalty=length_penalty,
                                        num_return_sequences=num_return_sequences)
        else:
            # Greedy and beam give one answer per prompt: compute it once.
            rows = 1 if sampler in ("greedy", "beam") else num_return_sequences
            total = len(prompt_ids) + max_length
            # Unfilled positions must not hold the stop token, or generation ends before it starts.
            token_ids = np.full((rows, total), 1 if end == 0 else 0, dtype=np.int32)
            token_ids[:, : len(prompt_ids)] = prompt_ids
            mask = np.zeros((rows, total), dtype=bool)
            mask[:, : len(prompt_ids)] = True
            self._use_sampler(sampler, seed, temperature, top_k, top_p, num_beams)
            out = self.causal_lm.generate({"token_ids": token_ids, "padding_mask": mask}, stop_token_ids=[end])
            ids = np.asarray(out["token_ids"])[:, len(prompt_ids) :]
            keep = np.asarray(out["padding_mask"])[:, len(prompt_ids) :]
            news = [row[k].tolist() for row, k in zip(ids, keep, strict=True)]
            news = (news * num_return_sequences)[:num_return_sequences]
        return [new[: new.index(end)] if end in new else new for new in news]

    def generate(self, prompt: str, *, max_length: int = 64, num_return_sequences: int = 1,
                 sampler: str = "greedy", seed: int | None = None, **sampler_options: Any) -> list[str]:
        """Continue `prompt` with up to `max_length` new BPE tokens, stopping at `<|endoftext|>`.

        Options as in `generate_ids` (temperature, top_k, top_p, num_beams, length_penalty).
        Returns only the continuations; a character cut by `max_length` is dropped, never
        shown as U+FFFD.

        Example:
            model.generate("The", max_length=8, num_return_sequences=3, sampler="top_p", top_p=0.9)
        """
        news = self.generate_ids(prompt, max_length=max_length, num_return_sequences=num_return_sequences,
                                 sampler=sampler, seed=seed, **sampler_options)
        return ["".join(self.tokenizer.decode_stream(new)) for new in news]

    def save_preset(self, directory: str | Path) -> Path:
        """Write model and tokenizer as a keras-hub preset directory that `load_preset` reads."""
        directory = Path(directory)
        self.causal_lm.save_to_preset(str(directory))
        self.tokenizer.layer.save_to_preset(str(directory))
        return directory

    def __repr__(self) -> str:
        return f"GPT2Model(source={self.config.source!r}, params={self.num_params():,})"


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


def train_byte_level_bpe(text: str, vocabulary_size: int = 512) -> tuple[dict[str, int], list[str]]:
    """GPT-2-style vocabulary and merges learned from `text`.

    The vocabulary holds all 256 byte stand-ins (so any text, Chinese included, encodes
    without loss), the most frequent merges up to `vocabulary_size`, and `<|endoftext|>` last
    (as in GPT-2, where it is id 50256).
    Learned with the `tokenizers` BPE trainer that keras-nlp itself depends on.

    Example:
        >>> vocabulary, merges = train_byte_level_bpe("the cat sat on the mat", 270)
        >>> len(vocabulary) <= 270 and merges[0].count(" ") == 1
        True
    """
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers

    if vocabulary_size < 257:
        raise LmzooError(f"vocabulary_size={vocabulary_size} must be >= 257", "256 bytes plus <|endoftext|>")
    bpe = Tokenizer(models.BPE())
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    trainer = trainers.BpeTrainer(vocab_size=vocabulary_size, special_tokens=["<|endoftext|>"],
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    bpe.train_from_iterator(text.splitlines() or [text], trainer)
    model = json.loads(bpe.to_str())["model"]
    merges = [" ".join(m) if isinstance(m, list) else m for m in model["merges"]]
    # The trainer puts <|endoftext|> first; GPT-2 has it last, and keras-nlp pads with id 0,
    # which must not read as an end token during generation.
    tokens = [t for t, _ in sorted(model["vocab"].items(), key=lambda item: item[1]) if t != "<|endoftext|>"]
    vocabulary = {token: i for i, token in enumerate([*tokens, "<|endoftext|>"])}
    return vocabulary, merges


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
