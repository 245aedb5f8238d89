"""The one error type the CLI turns into a one-line message with exit status 2."""

from __future__ import annotations

import contextlib
import difflib
import warnings
from collections.abc import Iterable, Iterator

# Keras's words when it drops jit_compile=True (e.g. under TF op determinism) with only a warning.
JIT_FALLBACK = "Proceeding with `jit_compile=False`"


class LmzooError(Exception):
    """A user-facing error: says what is wrong (naming the file or argument) and what to do.

    Example:
        >>> str(LmzooError("corpus 'x' is empty", hint="give a text file with words in it"))
        "corpus 'x' is empty; give a text file with words in it"
    """

    def __init__(self, message: str, hint: str | None = None):
        text = f"{message}; {hint}" if hint else message
        super().__init__(" ".join(text.split()))  # always one line


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """A hint listing the valid choices, the closest first.

    Example:
        >>> did_you_mean("ngarm", ["ngram", "unigram"])
        "did you mean 'ngram'? valid: ngram, unigram"
    """
    choices = sorted(choices)
    close = difflib.get_close_matches(word, choices, n=1)
    prefix = f"did you mean '{close[0]}'? " if close else ""
    return f"{prefix}valid: {', '.join(choices)}"


@contextlib.contextmanager
def no_silent_jit_fallback(what: str, hint: str = "do not enable TF op determinism") -> Iterator[None]:
    """Fail in one line when Keras drops `jit_compile=True` inside the block (it only warns).

    Every other warning the block raises is shown as usual. Used around training by `lmzoo compare`
    and the benchmarks, so a results file never reports an XLA run that trained without XLA.
    """
    with warnings.catch_warnings(record=True) as caught:  # records what the filters let through...
        warnings.filterwarnings("always", message=".*jit_compile.*")  # ...and always Keras's fallback
        yield
    for warning in caught:
        if JIT_FALLBACK in str(warning.message):
            raise LmzooError(f"{what} trained without XLA although its config asks for jit_compile=True "
                             "(Keras fell back silently)", hint)
        warnings.showwarning(warning.message, warning.category, warning.filename, warning.lineno)
