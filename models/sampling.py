"""Decoding over any next-token function: greedy, temperature, top-k, top-p and beam search.

A model only has to provide `next_log_probs(prefix_ids) -> log-probabilities over the
vocabulary`; these functions do the rest, so every family decodes the same way.

Example:
    >>> import numpy as np
    >>> table = np.log(np.array([[0.1, 0.9], [0.8, 0.2]]))
    >>> generate(lambda ids: table[ids[-1]], [0], max_new_tokens=3, eos_id=None)
    [[1, 0, 1]]
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from lmzoo.errors import LmzooError

NextLogProbs = Callable[[Sequence[int]], np.ndarray]
SAMPLERS = ("greedy", "temperature", "top_k", "top_p", "beam")


def check_sampling_options(
    sampler: str = "greedy", *, num_return_sequences: int = 1, max_new_tokens: int = 1,
    temperature: float = 1.0, top_k: int | None = None, top_p: float | None = None, num_beams: int = 4,
) -> None:
    """Raise a one-line LmzooError for any option out of range."""
    if sampler not in SAMPLERS:
        raise LmzooError(f"unknown sampler '{sampler}'", f"use one of {', '.join(SAMPLERS)}")
    if not isinstance(num_return_sequences, int) or num_return_sequences < 1:
        raise LmzooError(f"num_return_sequences={num_return_sequences} must be an integer >= 1")
    if not isinstance(max_new_tokens, int) or max_new_tokens < 0:
        raise LmzooError(f"max_length={max_new_tokens} must be an integer >= 0")
    if not temperature > 0:
        raise LmzooError(f"temperature={temperature} must be > 0")
    if top_k is not None and (not isinstance(top_k, int) or top_k < 1):
        raise LmzooError(f"top_k={top_k} must be an integer >= 1")
    if top_p is not None and not 0 < top_p <= 1:
        raise LmzooError(f"top_p={top_p} must be in (0, 1]")
    if sampler == "beam" and (not isinstance(num_beams, int) or num_beams < 1):
        raise LmzooError(f"num_beams={num_beams} (beam width) must be an integer >= 1")
    if sampler == "beam" and num_return_sequences > num_beams:
        raise LmzooError(f"num_return_sequences={num_return_sequences} exceeds num_beams={num_beams}")


def filter_log_probs(
    log_probs: np.ndarray, *, temperature: float = 1.0, top_k: int | None = None, top_p: float | None = None
) -> np.ndarray:
    """Temperature, then top-k, then top-p; returns renormalised log-probs, -inf outside the kept set.

    Excluded tokens get exactly -inf (a small number such as 1e-10 would still be sampled).
    """
    logits = np.asarray(log_probs, dtype=np.float64) / temperature
    if top_k is not None and top_k < logits.shape[-1]:
        kth = np.partition(logits, -top_k)[-top_k]
        logits = np.where(logits >= kth, logits, -np.inf)
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
        top_k=options.get("top_k") or (40 if sampler == "top_k" else None),
        top_p=options.get("top_p") or (0.9 if sampler == "top_p" else None),
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
    **options,
) -> list[list[int]]:
    """Continue `prompt_ids`; returns only the new ids of each sequence (stopping after `eos_id`)."""
    check_sampling_options(sampler, num_return_sequences=num_return_sequences, max_new_tokens=max_new_tokens,
                           num_beams=num_beams, **options)
    if sampler == "beam":
        return beam_search(next_log_probs, prompt_ids, num_beams=num_beams, max_new_tokens=max_new_tokens,
                           eos_id=eos_id, length_penalty=length_penalty, num_return_sequences=num_return_sequences)
    rng = np.random.default_rng(seed)
    outputs = []
    for _ in range(num_return_sequences):
        ids, new = list(prompt_ids), []
        for _ in range(max_new_tokens):
            token = sample_next(next_log_probs(ids), rng, sampler, **options)
            ids.append(token)
            new.append(token)
            if token == eos_id:
                break
        outputs.append(new)
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
