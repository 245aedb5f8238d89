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

import functools
import math
import re
from pathlib import Path

import numpy as np

from lmzoo.datasets.tokenizers import BOS, SPECIALS, VocabularyTokenizer, WordTokenizer
from lmzoo.errors import LmzooError
from lmzoo.models.ngram import KeyIndex, NGramConfig, NGramLM

LN10 = math.log(10.0)
ZERO_LOG10 = -99.0
_COUNT_RE = re.compile(r"^ngram\s+(\d+)\s*=\s*(\d+)$")
_SECTION_RE = re.compile(r"^\\(\d+)-grams:$")
_NOT_A_WORD = re.compile(r"[\s\0]")


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


def _format(values: np.ndarray) -> np.ndarray:
    """log10 of `values` (nats) as right-aligned ASCII bytes, exactly as f"{v:.8f}" writes them.

    Returns a uint8 matrix, one row per value, padded on the left with zero bytes (which the
    writer removes). A row is a whole number of 8-byte words with at least one free byte in
    front (the writer puts a separator there), so the writer moves numbers as uint64 words.
    Vectorised through integers: round(|v|·1e8) split into a whole part and two 4-digit halves,
    each looked up in a table of ASCII. A product within 1e-5 of a rounding tie could round the
    other way than the exact decimal does, so those few (about 1 in 50,000) are formatted by
    Python itself: the file stays byte-identical.

    Example:
        >>> def show(m): return [bytes(r).lstrip(b"\\0").decode() for r in m]
        >>> show(_format(np.log(np.array([0.5, 1.0, 1e-5, 0.0]))))
        ['-0.30103000', '0.00000000', '-5.00000000', '-99.00000000']
        >>> show(_format(np.array([-0.0, 2.0 * LN10, -1234.5 * LN10])))
        ['-0.00000000', '2.00000000', '-1234.50000000']
        >>> _format(np.zeros(3)).shape
        (3, 16)
    """
    log10 = np.where(np.isneginf(values), ZERO_LOG10, nats_to_log10(np.asarray(values, dtype=np.float64)))
    scaled = np.abs(log10) * 1e8
    rounded = np.rint(scaled)
    ties = np.flatnonzero(np.abs(np.abs(scaled - rounded) - 0.5) < 1e-5)
    whole, fraction = np.divmod(rounded.astype(np.int64), 100_000_000)
    # The signed whole part with its '.', right-aligned in `head` bytes: one table row per value.
    whole_max = int(whole.max(initial=0))
    signed = [f"{sign}{w}.".encode() for sign in ("", "-") for w in range(whole_max + 1)]
    head = 8 * (max(map(len, signed)) // 8 + 1)  # >= one free byte in front
    whole_table = _words(np.array([t.rjust(head, b"\0") for t in signed], dtype=f"S{head}"))
    out = np.empty((len(log10), head // 8 + 1), dtype=np.uint64)
    out[:, :-1] = whole_table[whole + np.signbit(log10) * (whole_max + 1)]
    four = _four_digits()  # little-endian: the first digit is the lowest byte
    out[:, -1] = four[fraction // 10_000] | four[fraction % 10_000] << np.uint64(32)
    out = out.view(np.uint8)
    for i in ties:
        text = f"{log10[i]:.8f}".encode()
        out[i] = 0
        out[i, out.shape[1] - len(text):] = np.frombuffer(text, dtype=np.uint8)
    return out


@functools.cache
def _four_digits() -> np.ndarray:
    """Entry d holds the 4 ASCII bytes of f"{d:04d}" (d < 10,000) in a uint64's low half."""
    return np.array([f"{d:04d}".encode() for d in range(10_000)]).view(np.uint32).astype(np.uint64)


def _words(strings: np.ndarray) -> np.ndarray:
    """A bytes array (numpy 'S', zero-padded to a multiple of 8) as a uint64 matrix, one row per string."""
    return strings.view(np.uint64).reshape(len(strings), strings.itemsize // 8)


_BLOCK_WORDS = 2**15  # uint64 words of text assembled at a time: the block stays in cache


def write_arpa(model: NGramLM, path: str | Path) -> None:
    """Write `model` as an ARPA file (log10; `<s>` with probability -99 and its backoff weight).

    Each line is assembled as a row of uint64 words, every field zero-padded to whole words
    and led by its separator: `\\n` and the probability, `\\t` and the first word, a space and
    each next word, then `\\t` and the backoff weight where the n-gram is a context. Blocks of
    rows are assembled in a reused buffer and the zero bytes removed in one pass, so no Python
    loop runs over n-grams (PTB order 5, 2.3M lines, 93 MB: about a second). Each line starts
    with its newline, so a section is closed by one more.

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
    vocabulary = [model.tokenizer.id_to_token(i) for i in range(model.vocab_size)]
    bad = [t for t in vocabulary[1:] if not t or _NOT_A_WORD.search(t)]
    if bad:
        raise LmzooError(f"ARPA words cannot hold whitespace, and this {model.tokenizer.kind} vocabulary has {bad[0]!r}",
                         "export a word-level model")
    encoded = [t.encode("utf-8") for t in vocabulary]
    slot = 8 * (max(map(len, encoded)) // 8 + 1)  # separator + word, in whole uint64 words
    first_word, next_word = (_words(np.array([sep + w for w in encoded], dtype=f"S{slot}")) for sep in (b"\t", b" "))
    order, vocab_size = model.config.order, model.vocab_size
    unigrams = np.arange(1, vocab_size)  # every id but <pad>
    sizes = [len(unigrams)] + [len(k) for k in model.keys[1:]]
    path = Path(path)
    try:
        with open(path, "wb") as f:
            f.write(("\\data\\\n" + "".join(f"ngram {k}={n}\n" for k, n in enumerate(sizes, 1))).encode())
            table = np.arange(vocab_size, dtype=np.int32)[:, None]  # order 1 is dense: row = word id
            for k in range(1, order + 1):
                rows = unigrams if k == 1 else slice(None)
                probs = model.log_probs[k - 1][rows].copy()
                if k == 1:
                    probs[BOS - 1] = -np.inf  # <s> is never predicted: -99
                if k > 1:  # the word ids of each row, from the previous order's (as `ngram_tokens` does)
                    parent, word = np.divmod(model.keys[k - 1], vocab_size)
                    table = np.column_stack([table[parent], word.astype(np.int32)])
                tokens = table[rows]
                fields = [_format(probs).view(np.uint64)]
                fields[0][:, 0] |= np.uint64(ord("\n"))
                if k < order:
                    is_context = np.bincount(model.keys[k] // vocab_size, minlength=len(model.keys[k - 1]))[rows] > 0
                    backoffs = _format(model.log_backoffs[k - 1][rows]).view(np.uint64)
                    backoffs[~is_context] = 0
                    backoffs[is_context, 0] |= np.uint64(ord("\t"))
                    fields.append(backoffs)
                widths = [fields[0].shape[1]] + [slot // 8] * k + [f.shape[1] for f in fields[1:]]
                edges = np.cumsum([0, *widths])
                step = max(1, _BLOCK_WORDS // int(edges[-1]))
                buffer = np.empty((step, int(edges[-1])), dtype=np.uint64)  # reused: fresh pages are slow
                f.write(f"\n\\{k}-grams:".encode())
                for start in range(0, len(tokens), step):
                    block = slice(start, start + step)
                    line = buffer[: len(tokens[block])]
                    line[:, : edges[1]] = fields[0][block]
                    for j in range(k):
                        line[:, edges[1 + j] : edges[2 + j]] = (next_word if j else first_word)[tokens[block, j]]
                    if k < order:
                        line[:, edges[-2] :] = fields[1][block]
                    text = line.view(np.uint8).ravel()
                    f.write(text[text != 0])
                f.write(b"\n")
            f.write(b"\n\\end\\\n")
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
    indexes: list[KeyIndex | None] = [None]  # order 1 is dense
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
                parent = indexes[j - 1].rows(parent, tokens[:, j - 1])
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
            if k < order:  # the contexts of the next order are looked up here
                indexes.append(KeyIndex(key, size))
    log_backoffs[-1] = np.zeros(len(keys[-1]))
    return NGramLM(NGramConfig(order=order, tokenizer=tokenizer.kind), tokenizer, keys, log_probs, log_backoffs)

