"""Solution to lesson 03's build-it exercise: greedy decoding for the autoencoder, written over the
network's `encode_ids` and `decode_step`: the decoder state starts at the latent (the encoder's final
state), reads `<s>`, then its own argmax at every step, until `</s>`. Checked with
`lmzoo.lesson.check_reconstruction` against `reconstruct`. The tests run this file in quick mode."""

import tempfile

import numpy as np
from keras import ops

import lmzoo
from lmzoo.datasets.tokenizers import BOS, EOS
from lmzoo.lesson import check_reconstruction
from lmzoo.models.seq2seq import pad_ids


def greedy_reconstruct(model, sentences: list[str]) -> list[str]:
    network, out = model.network, []
    for row in model.ids(sentences):
        enc = network.encode_ids(pad_ids([row]))
        state, token, words = [enc["latent"]], np.array([BOS], dtype="int32"), []  # one state per decoder layer
        for _ in range(model.config.context + 1):  # reconstruct's default cap: context words and </s>
            logits, state, _ = network.decode_step(token, state, enc)
            token = np.argmax(ops.convert_to_numpy(logits), axis=-1).astype("int32")
            if token[0] == EOS:
                break
            words.append(int(token[0]))
        out.append(model.tokenizer.decode(words))
    return out


corpus = lmzoo.load_corpus("lee")
sentences = corpus.sentences("test")[:8]
with tempfile.TemporaryDirectory() as tmp:
    model = lmzoo.train("seq2seq", corpus, tmp, preset="quick", max_sentences=64, epochs=1.0)
    check_reconstruction(greedy_reconstruct(model, sentences), model, sentences)
