"""ARPA files for `NGramLM`: write the backoff form that SRILM and KenLM read, and read it back.

An ARPA file holds, for each n-gram, log10 p(w | h) and, for each n-gram that is a context,
a log10 backoff weight. `NGramLM` keeps exactly that form (in nats), so writing is a unit change
and reading rebuilds the same sorted tables: KenLM loading our file reports our scores.

    \\data\\
    ngram 1=3
    ngram 2=2

    \\1-grams:
    -0.4771213	<unk>
    -99	<s>	-0.3010300
    -0.4771213	</s>
    ...
    \\end\\

Units (KenLM users mix them up, see PITFALLS): ARPA and KenLM use log10, the harness uses nats.
Use `log10_to_nats` / `nats_to_log10`; nothing else in the project converts between them.
A log-probability of -inf (an MLE zero) is written as -99, SRILM's convention, and read back as -inf.
"""

from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np

from lmzoo.datasets.tokenizers import BOS, SPECIALS, VocabularyTokenizer, WordTokenizer
from lmzoo.errors import LmzooError
from lmzoo.models.ngram import NGramConfig, NGramLM, lookup_rows

LN10 = math.log(10.0)
ZERO_LOG10 = -99.0
_COUNT_RE = re.compile(r"^ngram\s+(\d+)\s*=\s*(\d+)$")
_SECTION_RE = re.compile(r"^\\(\d+)-grams:$")


def nats_to_log10(x: np.ndarray | float) -> np.ndarray | float:
    """Natural-log values to log10 (ARPA, KenLM).

    Example:
        >>> round(nats_to_log10(math.log(0.01)), 6)
        -2.0
    """
    return x / LN10


def log10_to_nats(x: np.ndarray | float) -> np.ndarray | float:
    """log10 values (ARPA, KenLM) to nats (the harness).

    Example:
        >>> round(math.exp(log10_to_nats(-2.0)), 6)
        0.01
    """
    return x * LN10


def _format(values: np.ndarray) -> list[str]:
    log10 = np.where(np.isneginf(values), ZERO_LOG10, nats_to_log10(values))
    return [f"{v:.8f}" for v in log10.tolist()]


def write_arpa(model: NGramLM, path: str | Path) -> None:
    """Write `model` as an ARPA file (log10; `<s>` with probability -99 and its backoff weight).

    Example:
        >>> import tempfile
        >>> from lmzoo.datasets.tokenizers import fit_tokenizer
        >>> from lmzoo.models.ngram import NGramConfig
        >>> tok = fit_tokenizer("word", "a b\\n", word_split="whitespace")
        >>> path = Path(tempfile.mkdtemp()) / "lm.arpa"
        >>> write_arpa(NGramLM.from_text(NGramConfig(order=2), tok, "a b\\n"), path)
        >>> path.read_text().splitlines()[:3]
        ['\\\\data\\\\', 'ngram 1=5', 'ngram 2=3']
    """
    if model.config.smoothing == "stupid-backoff":
        raise LmzooError("stupid backoff is unnormalised; an ARPA file holds probabilities",
                         "export a kneser-ney or modified-kneser-ney model")
    vocabulary = np.array([model.tokenizer.id_to_token(i) for i in range(model.vocab_size)], dtype=object)
    bad = [t for t in vocabulary[1:] if not t or any(ch.isspace() for ch in t)]
    if bad:
        raise LmzooError(f"ARPA words cannot hold whitespace, and this {model.tokenizer.kind} vocabulary has {bad[0]!r}",
                         "export a word-level model")
    order = model.config.order
    unigrams = np.arange(1, model.vocab_size)  # every id but <pad>
    sizes = [len(unigrams)] + [len(k) for k in model.keys[1:]]
    path = Path(path)
    try:
        with open(path, "w", encoding="utf-8") as f:
            f.write("\\data\\\n" + "".join(f"ngram {k}={n}\n" for k, n in enumerate(sizes, 1)))
            for k in range(1, order + 1):
                rows = unigrams if k == 1 else np.arange(sizes[k - 1])
                words = [" ".join(t) for t in vocabulary[model.ngram_tokens(k)[rows]].tolist()]
                probs = _format(model.log_probs[k - 1][rows])
                if k == 1:
                    probs[BOS - 1] = f"{ZERO_LOG10:.8f}"  # <s> is never predicted
                f.write(f"\n\\{k}-grams:\n")
                if k < order:
                    is_context = np.bincount(model.keys[k] // model.vocab_size, minlength=len(model.keys[k - 1]))[rows] > 0
                    backoffs = _format(model.log_backoffs[k - 1][rows])
                    f.writelines(f"{p}\t{w}\t{b}\n" if c else f"{p}\t{w}\n"
                                 for p, w, b, c in zip(probs, words, backoffs, is_context.tolist(), strict=True))
                else:
                    f.writelines(f"{p}\t{w}\n" for p, w in zip(probs, words, strict=True))
            f.write("\n\\end\\\n")
    except OSError as err:
        raise LmzooError(f"cannot write '{path}' ({err.strerror})", "choose a writable --out path") from None


def _parse(path: Path) -> list[tuple[list[int], list[float], list[str], list[float]]]:
    """Per order: line numbers, log10 probs, word strings and log10 backoffs, checked line by line."""

    def fail(lineno: int, what: str) -> LmzooError:
        return LmzooError(f"{path}:{lineno}: {what}", "is this an ARPA language model file?")

    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        raise LmzooError(f"'{path}' does not exist", "give the path of an ARPA file") from None
    except (UnicodeDecodeError, IsADirectoryError) as err:
        raise LmzooError(f"'{path}' is not a UTF-8 text file ({type(err).__name__})", "give an ARPA file") from None
    lineno = next((i for i, line in enumerate(lines) if line.strip() == "\\data\\"), None)
    if lineno is None:
        raise fail(1, "no \\data\\ header")
    declared: dict[int, int] = {}
    sections: list[tuple[list[int], list[float], list[str], list[float]]] = []
    current = 0
    ended = False
    for i in range(lineno + 1, len(lines)):
        line, n = lines[i].strip(), i + 1
        if not line:
            continue
        if line == "\\end\\":
            ended = True
            break
        section = _SECTION_RE.match(line)
        if section:
            current = int(section.group(1))
            if current != len(sections) + 1 or current not in declared:
                raise fail(n, f"unexpected section '{line}' (declared orders: {sorted(declared)})")
            sections.append(([], [], [], []))
            continue
        if current == 0:
            count = _COUNT_RE.match(line)
            if not count:
                raise fail(n, f"expected 'ngram N=COUNT', got {line[:40]!r}")
            declared[int(count.group(1))] = int(count.group(2))
            continue
        fields = line.split()
        if len(fields) not in (current + 1, current + 2):
            raise fail(n, f"a {current}-gram line needs a log10 probability, {current} words and an optional backoff; got {len(fields)} fields")
        try:
            prob = float(fields[0])
            backoff = float(fields[current + 1]) if len(fields) == current + 2 else 0.0
        except ValueError:
            raise fail(n, f"not a number in {line[:60]!r}") from None
        if prob > 0 or math.isnan(prob):
            raise fail(n, f"log10 probability {prob} is not <= 0")
        rows = sections[-1]
        rows[0].append(n)
        rows[1].append(prob)
        rows[2].append(" ".join(fields[1:current + 1]))
        rows[3].append(backoff)
    if not ended:
        raise fail(len(lines), "file ends without \\end\\")
    if not sections or sorted(declared) != list(range(1, len(sections) + 1)):
        raise fail(len(lines), f"declared orders {sorted(declared)} but found {len(sections)} sections")
    for k, rows in enumerate(sections, 1):
        if len(rows[0]) != declared[k]:
            raise fail(rows[0][-1] if rows[0] else len(lines), f"\\data\\ declares {declared[k]} {k}-grams but the section has {len(rows[0])}")
    return sections


def read_arpa(path: str | Path, tokenizer: VocabularyTokenizer | None = None) -> NGramLM:
    """Read an ARPA file into an `NGramLM` that scores exactly as the file says.

    Words map through `tokenizer` when given (every ARPA word must be in it); otherwise a
    whitespace word tokenizer is built from the 1-grams, in file order, after the special tokens.
    The model has no counts (no word vectors) and its config records only the order.

    Example:
        >>> import tempfile
        >>> from lmzoo.datasets.tokenizers import fit_tokenizer
        >>> tok = fit_tokenizer("word", "a b\\n", word_split="whitespace")
        >>> lm = NGramLM.from_text(NGramConfig(order=2), tok, "a b\\n")
        >>> path = Path(tempfile.mkdtemp()) / "lm.arpa"
        >>> write_arpa(lm, path)
        >>> ids = tok.encode("b a")
        >>> bool(np.allclose(read_arpa(path, tok).token_log_probs(ids), lm.token_log_probs(ids)))
        True
    """
    path = Path(path)
    sections = _parse(path)
    unigram_words = sections[0][2]
    if tokenizer is None:
        tokenizer = WordTokenizer([*SPECIALS, *(w for w in unigram_words if w not in SPECIALS)], split="whitespace")
    index, size = tokenizer.index, tokenizer.vocabulary_size()
    order = len(sections)
    keys: list[np.ndarray] = []
    log_probs: list[np.ndarray] = []
    log_backoffs: list[np.ndarray] = []
    for k, (linenos, probs, words, backoffs) in enumerate(sections, 1):
        tokens = np.empty((len(words), k), dtype=np.int64)
        for row, (text, n) in enumerate(zip(words, linenos, strict=True)):
            for j, word in enumerate(text.split(" ")):
                if word not in index:
                    raise LmzooError(f"{path}:{n}: word {word!r} is not in the tokenizer's vocabulary",
                                     "read the file without a tokenizer, or with the one it was written from")
                tokens[row, j] = index[word]
        prob = log10_to_nats(np.array(probs, dtype=np.float64))
        prob[np.array(probs) <= ZERO_LOG10] = -np.inf
        backoff = log10_to_nats(np.array(backoffs, dtype=np.float64))
        backoff[np.array(backoffs) <= ZERO_LOG10] = -np.inf
        if k == 1:
            key = tokens[:, 0]
        else:
            parent = tokens[:, 0]
            for j in range(2, k):
                parent = lookup_rows(keys[j - 1], parent, tokens[:, j - 1], size)
            missing = np.flatnonzero(parent < 0)
            if len(missing):
                row = missing[0]
                raise LmzooError(f"{path}:{linenos[row]}: the context '{' '.join(words[row].split()[:-1])}' of this {k}-gram "
                                 f"is not among the {k - 1}-grams", "write every context n-gram (SRILM and KenLM do)")
            key = parent * size + tokens[:, -1]
        sort = np.argsort(key, kind="stable")
        key = key[sort]
        duplicate = np.flatnonzero(key[1:] == key[:-1])
        if len(duplicate):
            raise LmzooError(f"{path}:{linenos[sort[duplicate[0] + 1]]}: duplicate {k}-gram '{words[sort[duplicate[0] + 1]]}'")
        if k == 1:  # dense unigram table over the whole vocabulary; words not in the file get p = 0
            dense_prob, dense_backoff = np.full(size, -np.inf), np.zeros(size)
            dense_prob[key], dense_backoff[key] = prob[sort], backoff[sort]
            dense_prob[BOS] = -np.inf
            keys.append(np.arange(size, dtype=np.int64))
            log_probs.append(dense_prob)
            log_backoffs.append(dense_backoff)
        else:
            keys.append(key)
            log_probs.append(prob[sort])
            log_backoffs.append(backoff[sort])
    log_backoffs[-1] = np.zeros(len(keys[-1]))
    return NGramLM(NGramConfig(order=order, tokenizer=tokenizer.kind), tokenizer, keys, log_probs, log_backoffs)

