"""Solution to lesson 03b's build-it exercise: a carried-state scorer for the recurrent LM, chunk by
chunk over `network.run` with the states passed on, checked with `lmzoo.lesson.check_carried_scores`
against `token_log_probs`. The tests run this file in quick mode (tests/test_lessons.py)."""

import tempfile

import numpy as np
from keras import ops

import lmzoo
from lmzoo.datasets.tokenizers import BOS
from lmzoo.lesson import check_carried_scores


def carried_log_probs(model, ids: list[int], chunk: int = 64) -> np.ndarray:
    """log p(ids[i] | <s>, ids[:i]), reading the text once with the state carried between chunks."""
    inputs = np.array([BOS, *ids[:-1]], dtype="int32")
    states, out = None, []
    for start in range(0, len(ids), chunk):
        hidden, states = model.network.run(inputs[None, start:start + chunk], states, training=False)
        log_probs = ops.convert_to_numpy(ops.log_softmax(model.network.logits(hidden), axis=-1))[0]
        out.extend(log_probs[np.arange(len(log_probs)), ids[start:start + chunk]])
    return np.array(out)


corpus = lmzoo.load_corpus("lee")
with tempfile.TemporaryDirectory() as tmp:
    lstm = lmzoo.train("rnnlm", corpus, tmp, preset="quick", steps=20, eval_every=20, carry_state=True)
    test_ids = lstm.tokenizer.encode(corpus.test[:2000])
    check_carried_scores(carried_log_probs(lstm, test_ids), lstm, test_ids)
