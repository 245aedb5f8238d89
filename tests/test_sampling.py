"""Shared decoding: top-k/top-p stay inside their sets, beam 1 is greedy, bad options are one-line errors."""

import numpy as np
import pytest

from lmzoo.errors import LmzooError
from lmzoo.models.sampling import (
    beam_search,
    check_sampling_options,
    filter_log_probs,
    generate,
    generate_batch,
)

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


def total(next_log_probs, ids, prompt=(0,)):
    prefix, score = list(prompt), 0.0
    for t in ids:
        score += next_log_probs(prefix)[t]
        prefix.append(t)
    return score


def test_beam_of_one_is_greedy_and_a_beam_wider_than_all_paths_is_exact():
    greedy = generate(markov, [0], max_new_tokens=12, eos_id=3, sampler="greedy")[0]
    assert beam_search(markov, [0], num_beams=1, max_new_tokens=12, eos_id=3) == [greedy]
    def small(ids):
        return markov(ids)[:4] - np.logaddexp.reduce(markov(ids)[:4])  # 4 tokens, 3 ends
    # Every sequence of up to 3 new tokens that ends with 3 or has length 3: 4 + 3*4 + 9*4 ... enumerated.
    paths = [[a] for a in range(4)] + [[a, b] for a in range(3) for b in range(4)]
    paths = [p for p in paths if p[-1] == 3] + [[a, b, c] for a in range(3) for b in range(3) for c in range(4)]
    best = max(paths, key=lambda p: total(small, p))
    assert beam_search(small, [0], num_beams=64, max_new_tokens=3, eos_id=3, length_penalty=0.0) == [best]


def test_a_wider_beam_escapes_the_greedy_trap():
    # Greedy takes token 1 (0.6), then meets a flat distribution; token 2 (0.4) ends almost surely.
    table = {0: [0.0, 0.6, 0.4, 0.0], 1: [0.25, 0.25, 0.25, 0.25], 2: [0.005, 0.0025, 0.0025, 0.99]}
    def trap(ids):
        return np.log(np.maximum(table.get(ids[-1], table[1]), 1e-12))
    greedy = generate(trap, [0], max_new_tokens=2, eos_id=3, sampler="greedy")[0]
    wide = beam_search(trap, [0], num_beams=2, max_new_tokens=2, eos_id=3, length_penalty=0.0)[0]
    assert greedy[0] == 1 and wide == [2, 3]
    assert total(trap, wide) > total(trap, greedy) + 0.5


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


@pytest.mark.parametrize("options, message", [
    ({"topk": 5}, "unknown sampler option 'topk'; did you mean 'top_k'"),
    ({"temperature": "hot"}, "temperature='hot' must be a number"),
    ({"top_p": "abc"}, "top_p='abc' must be a number"), ({"top_k": 2.5}, "top_k=2.5 must be an integer"),
    ({"top_k": True}, "top_k=True must be an integer"), ({"num_beams": "4"}, "num_beams='4' must be an integer"),
    ({"temperature": float("nan")}, "must be a number"),
])
def test_option_names_and_types_are_checked_for_every_family(options, message):
    with pytest.raises(LmzooError, match=message):
        check_sampling_options("top_k", **options)
    with pytest.raises(LmzooError, match=message):  # the shared decoder (unigram, n-gram, seq2seq) checks too
        generate(markov, [0], max_new_tokens=2, eos_id=3, sampler="top_k", **options)


def test_top_k_is_clamped_to_the_vocabulary():
    assert check_sampling_options("top_k", vocabulary_size=30) == {"top_k": 30}  # the default 40
    assert check_sampling_options("top_p", vocabulary_size=30, top_k=100, top_p=0.5) == {"top_k": 30, "top_p": 0.5}
    assert check_sampling_options("greedy", vocabulary_size=30, temperature=2) == {"temperature": 2.0}


def test_ties_at_the_kth_value_keep_exactly_k():
    logits = np.log(np.array([0.4, 0.15, 0.15, 0.15, 0.15]))
    kept = np.isfinite(filter_log_probs(logits, top_k=2))
    assert kept.sum() == 2 and kept[0] and kept[1]  # the tie broken by id


def markov_step(tokens, state):
    """`markov` as a batched stepper: the state is the last token of each row (the prompt's at the start)."""
    state = state if tokens is None else tokens
    return np.stack([markov([t]) for t in state]), state


@pytest.mark.parametrize("sampler", ["greedy", "top_k"])
def test_batched_decoding_is_each_row_decoded_alone(sampler):
    """Rows stop at their own end token or limit; a row decoded in a batch is the row decoded alone (greedy),
    and a sampled batch of one draws what `generate` draws with the same seed."""
    prompts, limits = [0, 5, 7, 11], [12, 12, 2, 0]
    rows = generate_batch(markov_step, prompts, 4, max_new_tokens=limits, eos_id=3, sampler=sampler,
                          rng=np.random.default_rng(4))
    assert [len(r) <= n for r, n in zip(rows, limits, strict=True)] == [True] * 4 and rows[3] == []
    assert all(3 not in r[:-1] for r in rows)
    if sampler == "greedy":
        alone = [generate(markov, [p], max_new_tokens=n, eos_id=3)[0] for p, n in zip(prompts, limits, strict=True)]
        assert rows == alone
    one = generate_batch(markov_step, [5], 1, max_new_tokens=12, eos_id=3, sampler=sampler, rng=np.random.default_rng(4))
    assert one == generate(markov, [5], max_new_tokens=12, eos_id=3, sampler=sampler, seed=4)
