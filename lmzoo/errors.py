"""The one error type the CLI turns into a one-line message with exit status 2."""

from __future__ import annotations

import difflib
from collections.abc import Iterable


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
