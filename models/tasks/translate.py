"""Translation: decoder-only decoding of a causal LM, the attention GRU encoder–decoder, and the fine-tuned run."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import keras
import numpy as np
from keras import ops

from lmzoo.datasets.tokenizers import BOS, EOS, VocabularyTokenizer
from lmzoo.errors import LmzooError
from lmzoo.models import sampling, schedules
from lmzoo.models.layers.recurrent import GRUEncoderDecoder
from lmzoo.models.tasks.backbones import copy_weights, fresh
from lmzoo.models.tasks.config import FAMILY_NAME, MODEL_FILE, FinetuneConfig
from lmzoo.models.tasks.encoding import encode, float_pad, pad
from lmzoo.protocols import Backbone, CausalNetwork, ZooModel
from lmzoo.runs import RunDir

_CJK = "\u3000-\u303f\u4e00-\u9fff\uff00-\uffef"  # CJK punctuation, ideographs, full-width forms
_CJK_SPACE = re.compile(f"(?<=[{_CJK}]) | (?=[{_CJK}])")
SOURCE_TOKENIZER_FILE = "source_tokenizer.json"  # encoder–decoder with its own source vocabulary


@keras.saving.register_keras_serializable(package="lmzoo")
class AttentionTranslator(GRUEncoderDecoder):
    """GRU encoder, GRU decoder, additive attention: `call([source, decoder_inputs])` → logits.

    The shared `GRUEncoderDecoder` with its own source and target embeddings, Keras's parameter-free
    `AdditiveAttention` (the score is a scaled sum of tanh(query + key)) and an untied output layer.

    The source side has its own vocabulary when `source_vocabulary_size` is given (e.g. English
    words in, Chinese characters out). Encoder and decoder are stacks of `num_layers` GRUs; each
    decoder layer starts from the final state of the encoder layer at its depth, the top decoder
    layer attends over the top encoder layer's states, and the output layer reads the top decoder
    state and the attention context side by side.

    Example:
        >>> net = AttentionTranslator(vocabulary_size=12, embedding_dim=4, hidden_dim=8, num_layers=2)
        >>> tuple(net([np.array([[5, 6, 0]]), np.array([[2, 7]])]).shape)
        (1, 2, 12)
    """

    def __init__(self, vocabulary_size: int, embedding_dim: int = 128, hidden_dim: int = 256,
                 source_vocabulary_size: int | None = None, num_layers: int = 1, **kwargs: Any):
        super().__init__(**kwargs)
        self.vocabulary_size, self.embedding_dim, self.hidden_dim = vocabulary_size, embedding_dim, hidden_dim
        self.source_vocabulary_size, self.num_layers = source_vocabulary_size, num_layers
        self.source_embedding = keras.layers.Embedding(source_vocabulary_size or vocabulary_size, embedding_dim,
                                                       name="source_embedding")
        self.target_embedding = keras.layers.Embedding(vocabulary_size, embedding_dim, name="target_embedding")
        self.encoders = [keras.layers.GRU(hidden_dim, return_sequences=True, return_state=True, name=f"encoder_{i}")
                         for i in range(num_layers)]
        self.decoders = [keras.layers.GRU(hidden_dim, return_sequences=True, return_state=True, name=f"decoder_{i}")
                         for i in range(num_layers)]
        self.attention = keras.layers.AdditiveAttention(name="attention")
        self.output_layer = keras.layers.Dense(vocabulary_size, name="output")

    def encoder_layers(self) -> list[keras.layers.GRU]:
        return self.encoders

    def decoder_layers(self) -> list[keras.layers.GRU]:
        return self.decoders

    def output_logits(self, hidden: Any, memory: dict) -> tuple[Any, None]:
        """The output layer over the top decoder state(s) and their attention context, side by side."""
        query = hidden if len(hidden.shape) == 3 else hidden[:, None]  # Keras's attention takes a time axis
        context = self.attention([query, memory["states"]], mask=[None, memory["mask"]])
        logits = self.output_layer(ops.concatenate([query, context], axis=-1))
        return (logits if len(hidden.shape) == 3 else logits[:, 0]), None

    def call(self, inputs: Any, training: bool | None = None) -> Any:
        source, decoder_inputs = inputs
        memory = self.encode(source)
        return self.decode(decoder_inputs, memory["finals"], memory)[0]

    def get_config(self) -> dict:
        return {**super().get_config(), "vocabulary_size": self.vocabulary_size,
                "embedding_dim": self.embedding_dim, "hidden_dim": self.hidden_dim,
                "source_vocabulary_size": self.source_vocabulary_size, "num_layers": self.num_layers}


class FinetunedTranslator:
    """A fine-tuned translator (a Translator and a Generator: `generate(prompt)` translates the prompt).

    `tokenizer` is the pre-trained run's (the target side, and the source side too unless the
    encoder–decoder has its own `source_tokenizer`).

    Example:
        >>> translator = FinetunedTranslator.__new__(FinetunedTranslator)  # built by `finetune`
    """

    family = FAMILY_NAME

    def __init__(self, config: FinetuneConfig, tokenizer: VocabularyTokenizer, network: keras.Model,
                 context: int, source_language: str, target_language: str,
                 source_tokenizer: VocabularyTokenizer | None = None):
        self.config, self.tokenizer, self.network = config, tokenizer, network
        self.source_tokenizer = source_tokenizer
        self.context = context
        self.source_language, self.target_language = source_language, target_language

    def num_params(self) -> int:
        return int(self.network.count_params())

    def _source(self, sentence: str) -> list[int]:
        if self.config.architecture == "decoder_only":
            return [BOS, *encode(self.tokenizer, sentence)][: self.context - 2] + [EOS]
        return [*encode(self.source_tokenizer or self.tokenizer, sentence)][: self.context - 1] + [EOS]

    def translate(self, sentences: Sequence[str], batch_size: int = 64) -> list[str]:
        """Greedy translations, decoded in batches (`sampling.generate_batch` over `stepper`)."""
        outputs: list[list[int]] = []
        for start in range(0, len(sentences), batch_size):
            rows = [self._source(s) for s in sentences[start : start + batch_size]]
            step, state, limits = self.stepper(rows)
            outputs += sampling.generate_batch(step, state, len(rows), max_new_tokens=limits, eos_id=EOS)
        return [self._text(ids) for ids in outputs]

    def _text(self, ids: Sequence[int]) -> str:
        text = self.tokenizer.decode([i for i in ids if i != EOS]).strip()
        # A word tokenizer joins every token with a space; Chinese is written without them.
        return _CJK_SPACE.sub("", text) if self.target_language == "zh" else text

    def stepper(self, rows: list[list[int]]) -> tuple[sampling.StepFn, Any, np.ndarray]:
        """A next-token stepper over source `rows`, its first state, and each row's new-token limit.

        The encoder–decoder encodes the sources once and steps its GRU cells from the carried states.
        The decoder-only network reads `<s> source <sep>` and what it has written so far in one row
        of `context` tokens (a full forward pass per token): its limit stops a row when the row is
        full, and past the limit (`generate`'s `max_length`) the row slides, dropping its first token.
        """
        if self.config.architecture == "encoder_decoder":
            memory = self.network.encode(pad(rows, max(map(len, rows))))
            return (self.network.next_token_step(memory, len(rows)), memory["finals"],
                    np.full(len(rows), self.config.max_new_tokens))
        buffer, lengths = pad(rows, self.context), np.array([len(r) for r in rows])

        def step_decoder_only(tokens: np.ndarray | None, state: None) -> tuple[np.ndarray, None]:
            if tokens is not None:  # a stopped row's buffer changes no other row's logits
                full = lengths == self.context
                buffer[full, :-1] = buffer[full, 1:]
                lengths[full] -= 1
                buffer[np.arange(len(rows)), lengths] = tokens
                lengths[:] += 1
            logits = np.asarray(self.network.predict_on_batch(buffer))  # (batch, time, vocabulary)
            return logits[np.arange(len(rows)), lengths - 1], state

        return step_decoder_only, None, np.minimum(self.config.max_new_tokens, self.context - lengths)

    def next_log_probs(self, prefix: Sequence[int], source: Sequence[int]) -> np.ndarray:
        """log p(next target token | source, target prefix), by a full forward pass (uncached: beam search)."""
        if self.config.architecture == "decoder_only":
            row = [*source, *prefix][-self.context :]
            logits = np.asarray(self.network.predict_on_batch(pad([row], self.context)))[0, len(row) - 1]
        else:
            logits = ops.convert_to_numpy(self.network([pad([source], len(source)),
                                                        np.array([[BOS, *prefix]], np.int32)]))[0, -1]
        return np.asarray(ops.log_softmax(logits.astype(np.float64)))

    def generate(self, prompt: str, *, max_length: int = 64, num_return_sequences: int = 1,
                 sampler: str = "greedy", seed: int | None = None, **sampler_options: Any) -> list[str]:
        """Translate `prompt` with any sampler of `lmzoo.models.sampling` (greedy by default).

        Beam search scores prefixes with `next_log_probs`; every other sampler steps the cached `stepper`.
        """
        source = self._source(prompt)
        news = sampling.generate(lambda ids: self.next_log_probs(ids, source), [], max_new_tokens=max_length,
                                 eos_id=EOS, sampler=sampler, num_return_sequences=num_return_sequences, seed=seed,
                                 stepper=lambda: self.stepper([source])[:2], **sampler_options)
        return [self._text(new) for new in news]

    def save(self, run: RunDir) -> None:
        self.tokenizer.save(run.tokenizer_path)
        self.network.save(run.file(MODEL_FILE))

def embedding_table(pretrained: ZooModel) -> np.ndarray | None:
    """Each token's pre-trained state on its own (for Word2Vec, exactly its input vectors)."""
    if not isinstance(pretrained, Backbone):
        return None
    backbone = pretrained.backbone()
    ids = np.arange(pretrained.tokenizer.vocabulary_size(), dtype=np.int32)[:, None]
    return np.concatenate([ops.convert_to_numpy(backbone(ids[i : i + 4096]))[:, 0] for i in range(0, len(ids), 4096)])


def recurrent_lm_layers(pretrained: ZooModel) -> tuple[Any, list[Any], Any] | None:
    """The embedding, every GRU (bottom first) and the output layer of a pre-trained GRU language model
    (None for other runs)."""
    if not isinstance(pretrained, CausalNetwork):
        return None
    layers = pretrained.causal_network().layers
    embeddings = [layer for layer in layers if isinstance(layer, keras.layers.Embedding)]
    grus = [layer for layer in layers if isinstance(layer, keras.layers.GRU)]
    outputs = [layer for layer in layers if isinstance(layer, keras.layers.Dense)]
    if len(embeddings) != 1 or not grus or len(outputs) != 1:
        return None
    return embeddings[0], grus, outputs[0]


def init_decoder_from_lm(network: AttentionTranslator, lm: tuple[Any, list[Any], Any], config: FinetuneConfig) -> None:
    """Start the decoder as the pre-trained LM: its embedding, every GRU layer, its output layer for the
    top decoder state and zeros for the attention context (Ramachandran et al. 2017)."""
    embedding, grus, output = lm
    widths = [gru.units for gru in grus]
    if (len(grus), embedding.output_dim) != (config.num_layers, config.embedding_dim) or set(widths) != {config.hidden_dim}:
        raise LmzooError(f"the pre-trained GRU LM has {len(grus)} layer(s) of {'/'.join(map(str, widths))} units and "
                         f"embedding_dim={embedding.output_dim}; the translator was asked for num_layers="
                         f"{config.num_layers}, hidden_dim={config.hidden_dim}, embedding_dim={config.embedding_dim}",
                         f"--set hidden_dim={widths[-1]} --set embedding_dim={embedding.output_dim} "
                         f"--set num_layers={len(grus)}")
    network.target_embedding.set_weights(embedding.get_weights())
    for decoder, gru in zip(network.decoders, grus, strict=True):
        decoder.set_weights(gru.get_weights())
    kernel, bias = output.get_weights()
    network.output_layer.set_weights([np.concatenate([kernel, np.zeros_like(kernel)]), bias])


def learning_rate(config: FinetuneConfig, total_steps: int) -> float | keras.optimizers.schedules.LearningRateSchedule:
    """`learning_rate`, or its cosine decay to `min_learning_rate` over `total_steps` (a function of the
    optimizer's step, so a resumed run continues the schedule where it stopped).

    Example:
        >>> schedule = learning_rate(FinetuneConfig(task="translate", min_learning_rate=1e-4), 10)
        >>> round(float(schedule(0)), 6), round(float(schedule(10)), 6)
        (0.001, 0.0001)
    """
    if config.min_learning_rate is None:
        return config.learning_rate
    return schedules.cosine_decay(config.learning_rate, total_steps, alpha=config.min_learning_rate / config.learning_rate)


def build_translator(config: FinetuneConfig, pretrained: ZooModel, source_tokenizer: VocabularyTokenizer | None = None,
                     total_steps: int = 1) -> tuple[keras.Model, int, str]:
    """The network to fine-tune, its sequence length, and what it starts from.

    The encoder–decoder's decoder starts as the pre-trained LM when the run is a GRU language model
    ("lm"), else its embeddings start from the run's per-token states ("embeddings": Word2Vec
    vectors, a Transformer's contextless states); the source embedding too when both sides share
    the run's tokenizer.
    """
    if config.architecture == "decoder_only":
        network = pretrained.causal_network()
        network = fresh(network) if config.init == "scratch" else copy_weights(network)
        length = min(config.context, getattr(network, "context", None) or config.context)
        start = "random" if config.init == "scratch" else "lm"
    else:
        lm = recurrent_lm_layers(pretrained) if config.init == "pretrained" else None
        table = embedding_table(pretrained) if config.init == "pretrained" and lm is None else None
        network = AttentionTranslator(pretrained.tokenizer.vocabulary_size(),
                                      table.shape[1] if table is not None else config.embedding_dim, config.hidden_dim,
                                      source_tokenizer.vocabulary_size() if source_tokenizer else None,
                                      config.num_layers)
        network([np.zeros((1, 2), np.int32), np.zeros((1, 2), np.int32)])
        if lm is not None:
            init_decoder_from_lm(network, lm, config)
        if table is not None:
            network.target_embedding.embeddings.assign(table)
            if source_tokenizer is None:
                network.source_embedding.embeddings.assign(table)
        start = "lm" if lm is not None else "embeddings" if table is not None else "random"
        length = config.context
    network.compile(optimizer=keras.optimizers.Adam(learning_rate(config, total_steps), clipnorm=1.0),
                    loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    return network, length, start


def encoder_decoder_rows(tokenizer: VocabularyTokenizer, pairs: Sequence[tuple[str, str]], length: int,
                         source_tokenizer: VocabularyTokenizer | None = None,
                         ) -> tuple[tuple[np.ndarray, np.ndarray], np.ndarray, np.ndarray]:
    """Encoder inputs `source </s>`, decoder inputs `<s> target`, next-token targets `target </s>`, weights."""
    sources = [[*encode(source_tokenizer or tokenizer, s)][: length - 1] + [EOS] for s, _ in pairs]
    targets = [[*encode(tokenizer, t)][: length - 1] + [EOS] for _, t in pairs]
    decoder_inputs = [[BOS, *t[:-1]] for t in targets]
    weights = [[1.0] * len(t) for t in targets]
    return (pad(sources, length), pad(decoder_inputs, length)), pad(targets, length), float_pad(weights, length)

