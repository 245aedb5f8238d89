"""Shared decoding: top-k/top-p stay inside their sets, beam 1 is greedy, bad options are one-line errors."""

import numpy as np
import pytest

from lmzoo.errors import LmzooError
from lmzoo.models.sampling import beam_search, filter_log_probs, generate

RNG = np.random.default_rng(0)
LOGITS = np.log(RNG.dirichlet(np.ones(50)))


def markov(prefix):
    """A fixed random bigram model over 20 tokens; token 3 ends a sequence."""
    table = np.log(np.random.default_rng(1).dirichlet(np.ones(20) * 0.3, size=20))
    return table[prefix[-1]]


def test_top_k_samples_stay_in_the_k_most_likely():
    top5 = set(np.argsort(-LOGITS)[:5])
    samples = generate(lambda ids: LOGITS, [0], max_new_tokens=200, eos_id=None, sampler="top_k", top_k=5, seed=0)[0]
    assert set(samples) <= top5 and len(set(samples)) > 1


def test_top_p_keeps_the_smallest_set_reaching_p():
    filtered = filter_log_probs(LOGITS, top_p=0.5)
    kept = np.isfinite(filtered)
    probs = np.exp(LOGITS)
    order = np.argsort(-probs)
    n = kept.sum()
    assert probs[order[: n - 1]].sum() < 0.5 <= probs[order[:n]].sum()
    assert np.exp(filtered).sum() == pytest.approx(1.0)


def test_temperature_sharpens():
    cold = np.exp(filter_log_probs(LOGITS, temperature=0.5))
    assert cold.max() > np.exp(LOGITS).max()


def test_beam_of_one_is_greedy_and_wider_beams_score_no_worse():
    greedy = generate(markov, [0], max_new_tokens=12, eos_id=3, sampler="greedy")[0]
    assert beam_search(markov, [0], num_beams=1, max_new_tokens=12, eos_id=3) == [greedy]

    def total(ids):
        prefix = [0]
        score = 0.0
        for t in ids:
            score += markov(prefix)[t]
            prefix.append(t)
        return score

    wide = beam_search(markov, [0], num_beams=5, max_new_tokens=12, eos_id=3, length_penalty=0.0)[0]
    if len(wide) == len(greedy):
        assert total(wide) >= total(greedy) - 1e-9


def test_seeded_sampling_is_reproducible_and_stops_at_eos():
    a = generate(markov, [0], max_new_tokens=30, eos_id=3, sampler="temperature", seed=7, num_return_sequences=3)
    b = generate(markov, [0], max_new_tokens=30, eos_id=3, sampler="temperature", seed=7, num_return_sequences=3)
    assert a == b and len(a) == 3
    for seq in a:
        assert 3 not in seq[:-1] and len(seq) <= 30


@pytest.mark.parametrize("options, message", [
    ({"num_return_sequences": 0}, "num_return_sequences"), ({"sampler": "top_p", "top_p": 1.5}, "top_p"),
    ({"sampler": "top_p", "top_p": 0.0}, "top_p"), ({"sampler": "beam", "num_beams": 0}, "beam width"),
    ({"sampler": "nucleus"}, "unknown sampler"), ({"temperature": 0.0}, "temperature"),
])
def test_bad_options(options, message):
    with pytest.raises(LmzooError, match=message):
        generate(markov, [0], max_new_tokens=5, eos_id=3, **options)
