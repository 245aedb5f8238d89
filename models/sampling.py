"""Decoding over any next-token function: greedy, temperature, top-k, top-p and beam search.

A model only has to provide `next_log_probs(prefix_ids) -> log-probabilities over the
vocabulary`; these functions do the rest, so every family decodes the same way. A network that
decodes many rows at once with a cached state (a GRU decoder, a translator) gives `generate_batch` a
next-token stepper instead; `generate` runs through it too, one row at a time.

Example:
    >>> import numpy as np
    >>> table = np.log(np.array([[0.1, 0.9], [0.8, 0.2]]))
    >>> generate(lambda ids: table[ids[-1]], [0], max_new_tokens=3, eos_id=None)
    [[1, 0, 1]]
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from lmzoo.errors import LmzooError, did_you_mean

NextLogProbs = Callable[[Sequence[int]], np.ndarray]
# step(tokens chosen last, or None at the first step; state) -> (next-token scores (batch, vocabulary), state)
StepFn = Callable[[Any, Any], tuple[Any, Any]]
SAMPLERS = ("greedy", "temperature", "top_k", "top_p", "beam")


# The options every family's `generate` understands, with the type each must have.
OPTIONS = {"temperature": float, "top_k": int, "top_p": float, "num_beams": int, "length_penalty": float}
DEFAULT_TOP_K, DEFAULT_TOP_P = 40, 0.9


def _number(name: str, value: object, kind: type) -> int | float:
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and (kind is float or isinstance(value, int))
    if not ok or (isinstance(value, float) and not np.isfinite(value)):
        raise LmzooError(f"{name}={value!r} must be {'an integer' if kind is int else 'a number'}",
                         f"e.g. --set {name}={4 if kind is int else 0.8}")
    return kind(value)


def check_sampling_options(
    sampler: str = "greedy", *, num_return_sequences: int = 1, max_new_tokens: int = 1,
    vocabulary_size: int | None = None, **options: object,
) -> dict:
    """Check the sampler and its options (names, types, ranges) with one-line errors; return the options.

    The returned options are typed (an int temperature becomes a float), and `top_k` is clamped to
    `vocabulary_size` when that is given (the `top_k` sampler's default of 40 included), since a
    k larger than the vocabulary is an error in Keras's samplers.

    Example:
        >>> check_sampling_options("top_k", vocabulary_size=30, temperature=1)
        {'temperature': 1.0, 'top_k': 30}
        >>> check_sampling_options("top_k", topk=5)
        Traceback (most recent call last):
        ...
        lmzoo.errors.LmzooError: unknown sampler option 'topk'; did you mean 'top_k'? ...
    """
    if sampler not in SAMPLERS:
        raise LmzooError(f"unknown sampler '{sampler}'", f"use one of {', '.join(SAMPLERS)}")
    for name in options:
        if name not in OPTIONS:
            raise LmzooError(f"unknown sampler option '{name}'", did_you_mean(name, OPTIONS))
    if not isinstance(num_return_sequences, int) or num_return_sequences < 1:
        raise LmzooError(f"num_return_sequences={num_return_sequences} must be an integer >= 1")
    if not isinstance(max_new_tokens, int) or max_new_tokens < 0:
        raise LmzooError(f"max_length={max_new_tokens} must be an integer >= 0")
    out = {name: _number(name, value, OPTIONS[name]) for name, value in options.items() if value is not None}
    if not out.get("temperature", 1.0) > 0:
        raise LmzooError(f"temperature={out['temperature']} must be > 0")
    if out.get("top_k", 1) < 1:
        raise LmzooError(f"top_k={out['top_k']} must be an integer >= 1")
    if not 0 < out.get("top_p", 1.0) <= 1:
        raise LmzooError(f"top_p={out['top_p']} must be in (0, 1]")
    num_beams = out.get("num_beams", 4)
    if sampler == "beam" and num_beams < 1:
        raise LmzooError(f"num_beams={num_beams} (beam width) must be an integer >= 1")
    if sampler == "beam" and num_return_sequences > num_beams:
        raise LmzooError(f"num_return_sequences={num_return_sequences} exceeds num_beams={num_beams}")
    if sampler == "top_k" and "top_k" not in out:
        out["top_k"] = DEFAULT_TOP_K
    if vocabulary_size and "top_k" in out:
        out["top_k"] = min(out["top_k"], vocabulary_size)
    return out


def filter_log_probs(
    log_probs: np.ndarray, *, temperature: float = 1.0, top_k: int | None = None, top_p: float | None = None
) -> np.ndarray:
    """Temperature, then top-k, then top-p; returns renormalised log-probs, -inf outside the kept set.

    Excluded tokens get exactly -inf (a small number such as 1e-10 would still be sampled).
    """
    logits = np.asarray(log_probs, dtype=np.float64) / temperature
    if top_k is not None and top_k < logits.shape[-1]:
        # Exactly k tokens, ties at the k-th value broken by id (a >= threshold would keep them all).
        dropped = np.argsort(-logits, kind="stable")[top_k:]
        logits = logits.copy()
        logits[dropped] = -np.inf
    if top_p is not None and top_p < 1:
        order = np.argsort(-logits, kind="stable")
        probs = np.exp(logits[order] - np.max(logits))
        cumulative = np.cumsum(probs / probs.sum())
        keep = np.searchsorted(cumulative, top_p) + 1  # smallest prefix whose mass reaches top_p
        dropped = order[keep:]
        logits = logits.copy()
        logits[dropped] = -np.inf
    finite = logits[np.isfinite(logits)]
    return logits - (np.max(finite) + np.log(np.sum(np.exp(finite - np.max(finite)))))


def sample_next(log_probs: np.ndarray, rng: np.random.Generator, sampler: str = "greedy", **options) -> int:
    """One token id from `log_probs` by the named strategy."""
    if sampler == "greedy":
        return int(np.argmax(log_probs))
    filtered = filter_log_probs(
        log_probs,
        temperature=options.get("temperature", 1.0),
        top_k=options.get("top_k") or (DEFAULT_TOP_K if sampler == "top_k" else None),
        top_p=options.get("top_p") or (DEFAULT_TOP_P if sampler == "top_p" else None),
    )
    probs = np.exp(filtered)
    return int(rng.choice(len(probs), p=probs / probs.sum()))


def generate(
    next_log_probs: NextLogProbs,
    prompt_ids: Sequence[int],
    *,
    max_new_tokens: int,
    eos_id: int | None,
    sampler: str = "greedy",
    num_return_sequences: int = 1,
    seed: int | None = None,
    num_beams: int = 4,
    length_penalty: float = 1.0,
    stepper: Callable[[], tuple[StepFn, Any]] | None = None,
    **options,
) -> list[list[int]]:
    """Continue `prompt_ids`; returns only the new ids of each sequence (stopping after `eos_id`).

    `stepper()`, when given, returns a fresh `(step, state)` for one row that already holds the prompt
    (see `generate_batch`): the cached path that every sampler but beam search then decodes with,
    instead of calling `next_log_probs` on every prefix.
    """
    options = check_sampling_options(sampler, num_return_sequences=num_return_sequences,
                                     max_new_tokens=max_new_tokens, num_beams=num_beams, **options)
    options.pop("num_beams")
    if sampler == "beam":
        return beam_search(next_log_probs, prompt_ids, num_beams=num_beams, max_new_tokens=max_new_tokens,
                           eos_id=eos_id, length_penalty=length_penalty, num_return_sequences=num_return_sequences)
    rng = np.random.default_rng(seed)
    outputs = []
    def prefix_step(tokens: np.ndarray | None, ids: list[int]) -> tuple[np.ndarray, list[int]]:
        ids = ids if tokens is None else [*ids, int(tokens[0])]
        return np.asarray(next_log_probs(ids))[None], ids

    for _ in range(num_return_sequences):
        step, state = stepper() if stepper is not None else (prefix_step, list(prompt_ids))
        outputs += generate_batch(step, state, 1, max_new_tokens=max_new_tokens, eos_id=eos_id, sampler=sampler,
                                  rng=rng, **options)
    return outputs


def generate_batch(
    step: StepFn,
    state: Any,
    batch_size: int,
    *,
    max_new_tokens: int | Sequence[int],
    eos_id: int | None,
    sampler: str = "greedy",
    rng: np.random.Generator | None = None,
    **options,
) -> list[list[int]]:
    """Decode `batch_size` rows at once over a cached next-token stepper; the new ids of each row.

    `step(tokens, state) -> (scores, state)` feeds the tokens chosen at the previous step (None at
    the first) and returns next-token scores (batch, vocabulary): logits or log-probs, any scores
    that a softmax turns into the distribution. A row stops after `eos_id` (kept) or after its
    `max_new_tokens` (one limit, or one per row); the loop ends when every row has stopped, so a
    network steps once per new token, not once per prefix. `sample_next` draws each row's token
    (the row order fixes the draws of `rng`).

    Example:
        >>> table = np.log(np.array([[0.1, 0.9], [0.8, 0.2]]))
        >>> generate_batch(lambda t, s: (table[[0, 1] if t is None else t], s), None, 2, max_new_tokens=[3, 1],
        ...                eos_id=None)
        [[1, 0, 1], [0]]
    """
    limits = np.broadcast_to(np.asarray(max_new_tokens, dtype=np.int64), (batch_size,))
    rng = rng if rng is not None else np.random.default_rng()
    outputs: list[list[int]] = [[] for _ in range(batch_size)]
    active = limits > 0
    tokens = None
    for position in range(int(limits.max(initial=0))):
        if not active.any():
            break
        scores, state = step(tokens, state)
        scores = np.asarray(scores)
        if sampler == "greedy":
            tokens = np.argmax(scores, axis=-1)
        else:
            tokens = np.array([sample_next(scores[i], rng, sampler, **options) if active[i] else 0
                               for i in range(batch_size)])
        for i in np.flatnonzero(active):
            outputs[i].append(int(tokens[i]))
        active &= limits > position + 1
        if eos_id is not None:
            active &= tokens != eos_id
    return outputs


def beam_search(
    next_log_probs: NextLogProbs,
    prompt_ids: Sequence[int],
    *,
    num_beams: int,
    max_new_tokens: int,
    eos_id: int | None,
    length_penalty: float = 1.0,
    num_return_sequences: int = 1,
) -> list[list[int]]:
    """Beam search; finished hypotheses are ranked by total log-prob / length ** length_penalty.

    With `num_beams=1` it is exactly greedy decoding.
    """
    beams: list[tuple[float, list[int]]] = [(0.0, [])]
    finished: list[tuple[float, list[int]]] = []

    def normalised(score: float, ids: list[int]) -> float:
        return score / max(1, len(ids)) ** length_penalty

    for _ in range(max_new_tokens):
        candidates = []
        for score, new in beams:
            log_probs = next_log_probs([*prompt_ids, *new])
            for token in np.argsort(-log_probs, kind="stable")[:num_beams]:
                candidates.append((score + float(log_probs[token]), [*new, int(token)]))
        candidates.sort(key=lambda c: -c[0])
        beams = []
        for score, new in candidates:
            if eos_id is not None and new[-1] == eos_id:
                finished.append((score, new))
            else:
                beams.append((score, new))
            if len(beams) == num_beams:
                break
        if not beams or (len(finished) >= num_beams and max(normalised(*f) for f in finished)
                         >= max(normalised(*b) for b in beams)):
            break
    pool = sorted(finished + beams, key=lambda c: -normalised(*c))
    return [new for _, new in pool[:num_return_sequences]]


def keras_sampler(name: str, *, top_k: int | None = None, top_p: float | None = None, temperature: float = 1.0,
                  num_beams: int = 4, seed: int | None = None, return_all_beams: bool = False) -> Any:
    """The keras-nlp sampler for one of this module's sampler names and options: the compiled fast path
    that the Transformer and GPT-2 decode with takes the same names and options as `generate`.

    "temperature" (or any other non-greedy name) is plain sampling; `top_k` defaults to 40 and `top_p`
    to 0.9 as in `filter_log_probs`'s callers.

    Example:
        >>> type(keras_sampler("top_k", top_k=5)).__name__
        'TopKSampler'
    """
    import keras_nlp

    samplers = keras_nlp.samplers
    if name == "greedy":
        return samplers.GreedySampler()
    if name == "beam":
        return samplers.BeamSampler(num_beams=num_beams, temperature=temperature, return_all_beams=return_all_beams)
    if name == "top_k":
        return samplers.TopKSampler(k=top_k or 40, seed=seed, temperature=temperature)
    if name == "top_p":
        return samplers.TopPSampler(p=top_p or 0.9, k=top_k, seed=seed, temperature=temperature)
    return samplers.RandomSampler(seed=seed, temperature=temperature)
