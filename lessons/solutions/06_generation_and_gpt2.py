"""Solutions to lesson 06's build-it exercises: greedy decoding with a key/value cache, written by hand
over the network's `init_cache` and `call_with_cache`, checked with `lmzoo.lesson.check_greedy`
against the library's compiled decoder; and a top-p filter, checked with `lmzoo.lesson.check_top_p`.
The tests run this file in quick mode (tests/test_lessons.py)."""

import tempfile

import numpy as np
from keras import ops

import lmzoo
from lmzoo.datasets.tokenizers import EOS
from lmzoo.lesson import check_greedy, check_top_p


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


def top_p(log_probs: np.ndarray, p: float) -> np.ndarray:
    """Keep the smallest prefix of the sorted distribution whose mass reaches p; renormalise it."""
    order = np.argsort(-log_probs, kind="stable")
    keep = np.searchsorted(np.cumsum(np.exp(log_probs[order])), p) + 1
    out = np.full_like(log_probs, -np.inf)
    out[order[:keep]] = log_probs[order[:keep]] - np.logaddexp.reduce(log_probs[order[:keep]])
    return out


check_top_p(top_p)
