"""The small interfaces every family implements, so that evaluating and comparing is a loop.

A family implements only the capabilities it has (an n-gram is a language model, Word2Vec is
an embedder); the harness checks them with `isinstance` and never imports a family.

| family                       | LanguageModel | Generator | Embedder | Reconstructor | Backbone (hidden states)    |
|------------------------------|---------------|-----------|----------|---------------|-----------------------------|
| unigram                      | yes           | yes       |          |               | no (fine-tuning is an error)|
| ngram (PPMI + SVD vectors)   | yes           | yes       | yes      |               | no (fine-tuning is an error)|
| word2vec, word2vec-gensim    |               |           | yes      |               | word2vec: input embeddings  |
| seq2seq (generate = rewrite) |               | yes       | yes      | yes           | the encoder's states        |
| transformer (CausalNetwork)  | yes           | yes       | yes      |               | last block, after final norm|

Fine-tuning (`lmzoo.models.tasks`) reaches a pre-trained run through `Backbone` (and, for
decoder-only translation, `CausalNetwork`) plus the run's tokenizer; a fine-tuned run is a
`Classifier` or a `Translator`, which the harness scores with accuracy or BLEU/chrF.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import numpy as np

if TYPE_CHECKING:
    import keras
    from gensim.models import KeyedVectors

    from lmzoo.datasets.corpus import Corpus
    from lmzoo.runs import RunDir


@runtime_checkable
class Tokenizer(Protocol):
    """Text to ids and back. Ids 0-3 are always `<pad>`, `<unk>`, `<s>`, `</s>`."""

    kind: str

    def encode(self, text: str) -> list[int]: ...
    def decode(self, ids: Sequence[int]) -> str: ...
    def vocabulary_size(self) -> int: ...
    def token_to_id(self, token: str) -> int: ...
    def id_to_token(self, index: int) -> str: ...
    def save(self, path: Path) -> None: ...


@runtime_checkable
class ZooModel(Protocol):
    """What every trained model has: its family, config, tokenizer and size."""

    family: str
    config: Any
    tokenizer: Tokenizer

    def num_params(self) -> int: ...


@runtime_checkable
class LanguageModel(ZooModel, Protocol):
    """Scores text: log p(ids[i] | ids[:i]) in nats, float64, one value per id.

    The model owns its context handling (a Transformer scores long texts in rolling windows,
    each token predicted once). The first id is predicted from the start-of-text state.
    """

    def token_log_probs(self, ids: Sequence[int]) -> np.ndarray: ...


@runtime_checkable
class NextTokenPredictor(Protocol):
    """log p(next token | prefix ids) over the whole vocabulary, in nats (what sampling and the report's top-5 read).

    A model may also offer `stepper()`, the same function with memory of the prefixes it has seen
    (a recurrent model then pays one step per new token).
    """

    def next_log_probs(self, prefix: Sequence[int]) -> np.ndarray: ...


@runtime_checkable
class WindowScorer(LanguageModel, Protocol):
    """A language model whose `token_log_probs` carries a state through the whole text (rnnlm) but
    which trained on `context`-long windows from a fresh state: `window_log_probs` scores that way,
    and the harness reports both figures."""

    def window_log_probs(self, ids: Sequence[int]) -> np.ndarray: ...


@runtime_checkable
class Generator(ZooModel, Protocol):
    """Continues a prompt. `sampler` is "greedy", "top_k", "top_p", "temperature" or "beam"."""

    def generate(
        self,
        prompt: str,
        *,
        max_length: int = 64,
        num_return_sequences: int = 1,
        sampler: str = "greedy",
        seed: int | None = None,
        **sampler_options: Any,
    ) -> list[str]: ...


@runtime_checkable
class Embedder(ZooModel, Protocol):
    """Word vectors as gensim KeyedVectors: one scorer serves every family's embeddings."""

    def word_vectors(self) -> KeyedVectors: ...


@runtime_checkable
class Reconstructor(ZooModel, Protocol):
    """An autoencoder: reads sentences and writes them back through its latent code."""

    def reconstruct(self, sentences: Sequence[str], *, num_beams: int = 1) -> list[str]: ...


@runtime_checkable
class ConditionalScorer(Protocol):
    """A decoder's log p(token | the sentence's own encoding), one array per sentence.

    Reported as *conditional* NLL: it must never be compared with a language model's.
    """

    def conditional_log_probs(self, sentences: Sequence[str]) -> list[np.ndarray]: ...


@runtime_checkable
class Backbone(ZooModel, Protocol):
    """A pre-trained network that fine-tuning can build on.

    `backbone()` returns a `keras.Model` mapping int32 ids (batch, time), padded with 0, to float
    hidden states (batch, time, hidden). It shares its weights with the pre-trained model (training
    it changes them), and may set `context` (an int) when it cannot read longer inputs and
    `causal` (a bool) when each state sees only the tokens before it.
    """

    def backbone(self) -> keras.Model: ...


@runtime_checkable
class OwnIdsBackbone(Backbone, Protocol):
    """A Backbone whose own tokenizer does not reserve ids 0-3 (GPT-2's byte-level BPE starts with "!").

    `backbone_tokenizer()` is the tokenizer whose ids `backbone()` reads: the run's tokenizer with every id
    moved up past `<pad>`, `<unk>`, `<s>` and `</s>`, so that padding with 0 means what it means elsewhere.
    """

    def backbone_tokenizer(self) -> Tokenizer: ...


@runtime_checkable
class CausalNetwork(ZooModel, Protocol):
    """A language model's own Keras network: ids (batch, time) → next-token logits (batch, time, vocabulary).

    Decoder-only translation fine-tunes exactly this network, output layer included.
    """

    def causal_network(self) -> keras.Model: ...


@runtime_checkable
class Classifier(ZooModel, Protocol):
    """A fine-tuned text classifier: one label name per text."""

    labels: tuple[str, ...]

    def classify(self, texts: Sequence[str]) -> list[str]: ...


@runtime_checkable
class Translator(ZooModel, Protocol):
    """A fine-tuned translator; `target_language` ("zh", "en", ...) picks the BLEU tokenizer."""

    target_language: str

    def translate(self, sentences: Sequence[str]) -> list[str]: ...


@dataclass(frozen=True)
class Family:
    """A model family: its config class, named presets, and how to train and load it.

    `train` builds, fits and saves into the run directory (resuming from its checkpoint when
    one is there) and returns the model; `load` rebuilds the model from a finished run.
    """

    name: str
    summary: str
    config_cls: type
    presets: Mapping[str, Any]
    train: Callable[[Any, Corpus, RunDir], ZooModel]
    load: Callable[[RunDir], ZooModel]
