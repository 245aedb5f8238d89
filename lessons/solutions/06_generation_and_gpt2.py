"""Solution to lesson 06's build-it exercise: greedy decoding with a key/value cache, written by hand
over the network's `init_cache` and `call_with_cache`, checked with `lmzoo.lesson.check_greedy`
against the library's compiled decoder. The tests run this file in quick mode (tests/test_lessons.py)."""

import tempfile

import numpy as np
from keras import ops

import lmzoo
from lmzoo.datasets.tokenizers import EOS
from lmzoo.lesson import check_greedy


def greedy_with_cache(model, prompt_ids: list[int], new_tokens: int) -> list[int]:
    """Prefill the cache with the prompt in one call, then feed one token per step at its position."""
    network = model.network
    cache = network.init_cache(1, len(prompt_ids) + new_tokens)
    logits, _, cache = network.call_with_cache(np.array([prompt_ids], dtype="int32"), cache, 0)
    out: list[int] = []
    for step in range(new_tokens):
        token = int(np.argmax(ops.convert_to_numpy(logits)[0, -1]))
        out.append(token)
        if token == EOS:
            break
        logits, _, cache = network.call_with_cache(np.array([[token]], dtype="int32"), cache, len(prompt_ids) + step)
    return out


with tempfile.TemporaryDirectory() as tmp:
    model = lmzoo.train("transformer", lmzoo.load_corpus("lee"), tmp, preset="quick")
    prompt = model.tokenizer.encode("The government said")
    check_greedy(greedy_with_cache(model, prompt, model.config.context - len(prompt)), model, prompt)
