"""Small helpers the lessons share: quick mode, figures, measured claims, and showing library source.

`save_and_show(fig, path)` saves a PNG and displays the figure (nothing is drawn under `MPLBACKEND=Agg`).
A lesson never types a result by hand: every figure its prose quotes is measured by the run (or read
from a results file) and recorded with `claim`, which prints it beside the range the text promises and
writes `claims.json`. The prose names the claim after the number, e.g. "Kneser-Ney scores 395-415
[kn_order3_perplexity]" or "[quick:kn_order3_perplexity]"; `tests/test_lessons.py` checks each, and
`measured_table()` ends each lesson with the run's claims. Build-it exercises: each `check_*` compares
a piece the learner wrote with the library's own, raising `LmzooError` on a difference.
`execute_notebook` runs a lesson as a notebook (`make notebooks`).

Example:
    >>> import tempfile
    >>> from lmzoo.lesson import output_dir, claim
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     out = output_dir("doctest", root=tmp)
    ...     claim("answer", 42.0, full=(40, 45), quick=(40, 45), text="the answer")
    answer = 42 (the answer; expected 40-45 in ... mode) ok
    True
"""

from __future__ import annotations

import inspect
import json
import math
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

QUICK_ENV = "LMZOO_QUICK"
OUT_ENV = "LMZOO_LESSON_OUT"
CLAIMS_FILE = "claims.json"
# benchmarks/results, found from the installed package (an editable install or the source tree).
RESULTS_DIR = Path(__file__).resolve().parent.parent / "benchmarks" / "results"

_current: dict[str, Path] = {}


def quick() -> bool:
    """True when `LMZOO_QUICK=1`: lessons then use tiny sizes and finish in about a minute."""
    return os.environ.get(QUICK_ENV, "") not in ("", "0", "false", "no")


def preset() -> str:
    """The family preset a lesson should train with: "quick" in quick mode, else "default"."""
    return "quick" if quick() else "default"


def mode() -> str:
    """ "quick" or "full": the mode whose expected ranges apply to this run."""
    return "quick" if quick() else "full"


def shared_run(family: str, corpus: Any, root: str | os.PathLike | None = None) -> Path:
    """The run directory `shared_model` trains `family` on `corpus` into (its metrics, its checkpoint)."""
    return Path(root if root is not None else os.environ.get(OUT_ENV, "runs/lessons")) / "shared" / (
        f"{family}-{corpus.name}-{preset()}")


def shared_model(family: str, corpus: Any, root: str | os.PathLike | None = None) -> Any:
    """`family` trained with this mode's preset on `corpus`, once for all the lessons that study it.

    Lessons 04-06 look at one trained default Transformer on lee (its heads, its loss, its decoding):
    the first lesson to ask trains it into `$LMZOO_LESSON_OUT/shared/<family>-<corpus>-<preset>`, later
    ones reload it. A run there made with another config or corpus (its `fingerprint.json` differs) is
    trained again, never reused.
    """
    import lmzoo
    from lmzoo.config import to_dict
    from lmzoo.families import get_family, make_config
    from lmzoo.runs import RunDir, fingerprint, plain_json

    out = shared_run(family, corpus, root)
    config = to_dict(make_config(get_family(family), preset()))
    run = RunDir(out)
    if run.is_complete() and run.read_json("fingerprint.json") == plain_json(fingerprint(family, config, corpus)):
        print(f"reusing the {family} trained by an earlier lesson ({out})")
        return lmzoo.load(out)
    return lmzoo.train(family, corpus, out, overwrite=True, preset=preset())


def output_dir(lesson: str, root: str | os.PathLike | None = None) -> Path:
    """Folder for a lesson's figures, runs and claims: `$LMZOO_LESSON_OUT/<lesson>` (default runs/lessons).

    It also becomes the folder `claim` records into, so call it once at the top of a lesson.
    """
    path = Path(root if root is not None else os.environ.get(OUT_ENV, "runs/lessons")) / lesson
    path.mkdir(parents=True, exist_ok=True)
    _current["out"] = path
    (path / CLAIMS_FILE).unlink(missing_ok=True)  # claims belong to this run only
    return path


def show(obj: object) -> None:
    """Print the library source of `obj` with its file and line, so lessons never paste code."""
    lines, start = inspect.getsourcelines(obj)
    path = Path(inspect.getsourcefile(obj) or "?")
    print(f"# {path.parent.name}/{path.name}:{start}")
    print("".join(lines))


_NON_INTERACTIVE = {"agg", "cairo", "pdf", "pgf", "ps", "svg", "template"}  # matplotlib's file-only backends


def _in_notebook() -> bool:
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    return shell is not None and type(shell).__name__ != "TerminalInteractiveShell"


def save_and_show(fig: Any, path: str | os.PathLike, dpi: int = 120) -> Path:
    """Save `fig` as a PNG at `path`, then display it, and close it (so no figure is shown twice).

    In a notebook the figure is displayed inline; under an interactive matplotlib backend (a plain
    `python lesson.py`) it opens in a window; under a non-interactive backend such as Agg (the tests)
    it is only saved. The backend is the environment's choice (`MPLBACKEND`), never the lesson's.
    """
    import matplotlib
    import matplotlib.pyplot as plt

    path = Path(path)
    fig.savefig(path, dpi=dpi, bbox_inches="tight")
    if _in_notebook():
        from IPython.display import display

        display(fig)
    elif matplotlib.get_backend().lower() not in _NON_INTERACTIVE:
        plt.show()
    plt.close(fig)
    print(f"saved {path}")
    return path


def show_saved(path: str | os.PathLike) -> Path:
    """Display a PNG that another module saved (e.g. `lmzoo.plots`, which the compare job uses too)."""
    path = Path(path)
    if _in_notebook():
        from IPython.display import Image, display

        display(Image(filename=str(path)))
    print(f"saved {path}")
    return path


def _fmt(value: float) -> str:
    if math.isinf(value) or math.isnan(value) or abs(value) < 1000:
        return f"{value:.4g}"
    return f"{value:,.0f}"


def claim(name: str, value: float, *, full: Sequence[float] | None = None, quick: Sequence[float] | None = None,
          text: str = "", source: str | None = None) -> bool:
    """Record a measured figure that the lesson's prose quotes, and check it against the stated range.

    `full` and `quick` are the (low, high) ranges the text promises in each mode; the one for the
    current mode is checked. The value, both ranges and the verdict are printed and appended to
    `claims.json` in the lesson's output folder. A value out of range is printed as a MISMATCH (the
    test of the lessons fails on it); the lesson goes on, so a learner on another machine sees the
    difference instead of a traceback. `source` names the results file a figure was read from.
    Returns whether the value is in range (True when no range applies to this mode).
    """
    value = float(value)
    ranges = {"full": list(full) if full is not None else None, "quick": list(quick) if quick is not None else None}
    expected = ranges[mode()]
    ok = expected is None or (expected[0] <= value <= expected[1])
    where = f" from {source}" if source else ""
    promise = (f"expected {_fmt(expected[0])}-{_fmt(expected[1])} in {mode()} mode" if expected
               else f"no range for {mode()} mode")
    print(f"{name} = {_fmt(value)} ({text + '; ' if text else ''}{promise}{where})" + (" ok" if ok else " MISMATCH"))
    out = _current.get("out")
    if out is not None:
        path = out / CLAIMS_FILE
        records = json.loads(path.read_text()) if path.exists() else {}
        records[name] = {"value": value, "mode": mode(), "ok": ok, "text": text, "source": source, **ranges}
        path.write_text(json.dumps(records, indent=1))
    return ok


def read_result(filename: str, *keys: str | int, default: Any = KeyError) -> Any:
    """A value from `benchmarks/results/<filename>`, following `keys`; each key may be a tuple of names,
    the first one present being used (for a key that is being renamed).

    Raises `FileNotFoundError` when the results file is absent (say so in the lesson), `KeyError` when
    no key matches, unless `default` is given.
    """
    data: Any = json.loads((RESULTS_DIR / filename).read_text())
    for key in keys:
        names = key if isinstance(key, tuple) else (key,)
        found = next((n for n in names if isinstance(data, dict) and n in data
                      or isinstance(data, list) and isinstance(n, int)), None)
        if found is None:
            if default is KeyError:
                raise KeyError(f"{filename}: none of {names}")
            return default
        data = data[found]
    return data


def bigram_table(model: Any, vocabulary_size: int) -> Any:
    """The V × V table p(next | previous) of a Keras model mapping previous ids to next-id logits."""
    import numpy as np
    from keras import ops

    logits = ops.convert_to_numpy(model(np.arange(vocabulary_size, dtype="int32"))).astype(np.float64)
    logits = logits.reshape(vocabulary_size, -1)
    return np.exp(logits - np.logaddexp.reduce(logits, axis=1, keepdims=True))


def check_bigram(model: Any, tokenizer: Any, text: str, *, target: float, tolerance: float = 0.005) -> float:
    """Check a learner's bigram model (exercises of lessons 01 and 01b) on `text`, read as the n-gram
    models read it: `<s>` before every sentence, `</s>` predicted, `<s>` never.

    `model` is a V × V table p(next | previous) (lesson 01b) or a function `previous_id -> V natural
    log-probabilities` (lesson 01, where a word table would not fit in memory). Every row used must be a
    distribution over the vocabulary, and the text's mean bits per token (bits/char for a character
    tokenizer, log2 of the perplexity for words) at most `target` + `tolerance`. Returns the bits per
    token; raises `LmzooError` saying what is wrong otherwise.
    """
    import numpy as np

    from lmzoo.datasets.tokenizers import BOS, UNK
    from lmzoo.errors import LmzooError
    from lmzoo.models.ngram import sentence_stream

    size = tokenizer.vocabulary_size()
    stream, real, _ = sentence_stream(np.asarray(tokenizer.encode(text)))
    at = np.flatnonzero(real)
    previous, following = stream[at - 1], stream[at]
    if callable(model):
        rows = {int(p): np.asarray(model(int(p)), dtype=np.float64) for p in {*np.unique(previous), BOS, UNK}}
        bad = next((p for p, row in rows.items() if row.shape != (size,)), None)
        if bad is not None:
            raise LmzooError(f"model({bad}) has shape {rows[bad].shape}, not ({size},)", "one log-probability per id")
        table = np.zeros((size, size))
        for p, row in rows.items():
            table[p] = np.exp(row)
        used = sorted(rows)
    else:
        table = np.asarray(model, dtype=np.float64)
        if table.shape != (size, size):
            raise LmzooError(f"the table has shape {table.shape}, not ({size}, {size})", "one row per previous id")
        used = list(range(size))
    rows_used = table[used]
    if np.isnan(rows_used).any() or (rows_used < 0).any() or not np.allclose(rows_used.sum(axis=1), 1.0, atol=1e-6):
        raise LmzooError("a row of the model is not a probability distribution",
                         "normalise each row to sum to 1 (natural-log probabilities for a function)")
    probs = table[previous, following]
    if (probs <= 0).any():
        raise LmzooError(f"{int((probs <= 0).sum())} test pairs get probability 0", "smooth the counts (add k, or "
                         "interpolate with the unigram)")
    bits = float(-np.log2(probs).mean())
    ok = bits <= target + tolerance
    print(f"your bigram: {bits:.4f} bits per token (perplexity {2 ** bits:,.1f}); target {target:.4f} + {tolerance}: "
          f"{'ok' if ok else 'not yet'}")
    if not ok:
        raise LmzooError(f"{bits:.4f} bits per token is above the target {target:.4f} + {tolerance}",
                         "check the counts, the smoothing, or train longer")
    return bits


def check_greedy(new_ids: Sequence[int], model: Any, prompt_ids: Sequence[int]) -> None:
    """Check a learner's greedy decoding (exercise of lesson 06): `new_ids`, the tokens it generated after
    `prompt_ids`, must equal the model's own cached greedy decoding (`generate_ids`) token for token.
    Raises `LmzooError` naming the first position that differs.
    """
    from lmzoo.errors import LmzooError

    reference = model.generate_ids(list(prompt_ids), max_length=len(new_ids), sampler="greedy")[0]
    mine = [int(i) for i in new_ids]
    first = next((i for i, (a, b) in enumerate(zip(mine, reference, strict=False)) if a != b), None)
    if first is None and len(mine) != len(reference):
        first = min(len(mine), len(reference))
    if first is not None:
        raise LmzooError(f"your decoding differs from generate_ids at new token {first}: {mine[first:first + 5]} "
                         f"against {reference[first:first + 5]}", "check the cache index of each step")
    print(f"your greedy decoding matches generate_ids for all {len(mine)} new tokens: ok")


def check_tokenizer(encode: Any, decode: Any, text: str) -> int:
    """Check a learner's character tokenizer (exercise of lesson 00): `decode(encode(text))` gives the text
    back, the ids are distinct integers per distinct character, and no two characters share an id.
    Returns the number of distinct ids; raises `LmzooError` saying what is wrong otherwise."""
    from lmzoo.errors import LmzooError

    ids = list(encode(text))
    if len(ids) != len(text) or not all(isinstance(i, int) for i in ids):
        raise LmzooError(f"encode gave {len(ids)} ids for {len(text)} characters", "one int id per character")
    if decode(ids) != text:
        raise LmzooError("decode(encode(text)) is not the text", "decode must invert encode exactly")
    pairs = set(zip(text, ids, strict=True))
    if len(pairs) != len(set(text)) or len({i for _, i in pairs}) != len(set(text)):
        raise LmzooError("a character has two ids, or two characters share one", "one id per distinct character")
    print(f"your tokenizer: {len(set(ids))} ids for {len(set(text))} distinct characters, round trip exact: ok")
    return len(set(ids))


def check_causal_attention(attention: Any, *, length: int = 6, width: int = 4, seed: int = 0) -> float:
    """Check a learner's causal scaled dot-product attention (exercise of lesson 04): `attention(q, k, v)` on
    (length, width) NumPy arrays must match the library's `scaled_dot_product_attention` with the causal bias
    to 1e-5, and changing the last value vector must not change any earlier output. Returns the largest
    difference; raises `LmzooError` otherwise."""
    import numpy as np
    from keras import ops

    from lmzoo.errors import LmzooError
    from lmzoo.models.transformer_layers import causal_bias, scaled_dot_product_attention

    rng = np.random.default_rng(seed)
    q, k, v = (rng.normal(size=(length, width)).astype("float32") for _ in range(3))
    expected, _ = scaled_dot_product_attention(q[None, None], k[None, None], v[None, None], bias=causal_bias(length))
    mine = np.asarray(attention(q, k, v), dtype=np.float64)
    if mine.shape != (length, width):
        raise LmzooError(f"your attention returned shape {mine.shape}, not {(length, width)}", "one output row per query")
    gap = float(np.abs(mine - ops.convert_to_numpy(expected)[0, 0]).max())
    if gap > 1e-5:
        raise LmzooError(f"your attention differs from the library's by {gap:.2g}", "scale by 1/sqrt(d_k), add the bias "
                         "before the softmax, softmax over the keys")
    changed = v.copy()
    changed[-1] += 10.0
    moved = float(np.abs(np.asarray(attention(q, k, changed))[:-1] - mine[:-1]).max())
    if moved > 1e-6:
        raise LmzooError(f"changing the last value moved earlier outputs by {moved:.2g}", "mask the future keys")
    print(f"your causal attention matches the library's (largest difference {gap:.1e}) and ignores the future: ok")
    return gap


def check_open_bits(bits_per_char: float, model: Any, text: str, spelling: Any) -> float:
    """Check a learner's open-vocabulary bits/char computed by hand (exercise of lesson 07) against
    `lmzoo.harness.score_text` to 1e-9 relative. Returns the harness's figure; raises `LmzooError` otherwise."""
    import math

    from lmzoo.errors import LmzooError
    from lmzoo.harness import score_text

    expected = score_text(model, text, spelling)["bits_per_char"]
    if not math.isclose(bits_per_char, expected, rel_tol=1e-9):
        closed = score_text(model, text, spelling)["bits_per_char_closed"]
        hint = ("that is the closed figure: add the spelling cost of every unknown word"
                if math.isclose(bits_per_char, closed, rel_tol=1e-6) else "negative log-probabilities in nats, "
                "plus spelling costs, plus layout costs (word models), / ln 2 / characters of the text")
        raise LmzooError(f"{bits_per_char:.6f} bits/char, the harness says {expected:.6f}", hint)
    print(f"your open-vocabulary figure {bits_per_char:.4f} bits/char equals the harness's: ok")
    return expected


def check_top_p(top_p: Any, *, vocabulary_size: int = 50, seed: int = 0) -> None:
    """Check a learner's nucleus filter (exercise of lesson 06): `top_p(log_probs, p)` must return the
    renormalised log-probabilities of the smallest set of most likely tokens whose mass reaches `p`, and
    exactly -inf elsewhere, as `lmzoo.models.sampling.filter_log_probs` does, on random distributions."""
    import numpy as np

    from lmzoo.errors import LmzooError
    from lmzoo.models.sampling import filter_log_probs

    rng = np.random.default_rng(seed)
    for trial in range(20):
        logits = rng.normal(scale=1 + trial % 4, size=vocabulary_size)
        log_probs = logits - np.logaddexp.reduce(logits)
        for p in (0.1, 0.5, 0.9, 0.99):
            expected = filter_log_probs(log_probs, top_p=p)
            mine = np.asarray(top_p(log_probs.copy(), p), dtype=np.float64)
            kept, my_kept = np.isfinite(expected), np.isfinite(mine)
            if not np.array_equal(kept, my_kept):
                raise LmzooError(f"p={p}: you keep {int(my_kept.sum())} tokens, the nucleus has {int(kept.sum())}",
                                 "keep the smallest set of most likely tokens whose probability reaches p")
            if not np.allclose(mine[kept], expected[kept], atol=1e-9):
                raise LmzooError(f"p={p}: the kept log-probabilities are not renormalised", "subtract their logsumexp")
    print("your top-p filter keeps the nucleus and renormalises it on 80 random cases: ok")


def check_carried_scores(log_probs: Any, model: Any, ids: Sequence[int]) -> float:
    """Check a learner's carried-state scorer (exercise of lesson 03b): `log_probs`, one log-probability per
    id, must equal the recurrent LM's `token_log_probs(ids)` to 1e-4 nats. Returns the bits/char-free
    mean log-probability; raises `LmzooError` naming the first position that differs."""
    import numpy as np

    from lmzoo.errors import LmzooError

    expected = np.asarray(model.token_log_probs(list(ids)))
    mine = np.asarray(log_probs, dtype=np.float64)
    if mine.shape != expected.shape:
        raise LmzooError(f"{mine.shape[0] if mine.ndim else 0} log-probabilities for {len(expected)} ids",
                         "one per id, the first one predicted after <s>")
    wrong = np.flatnonzero(np.abs(mine - expected) > 1e-4)
    if len(wrong):
        raise LmzooError(f"your score differs at position {wrong[0]}: {mine[wrong[0]]:.4f} against "
                         f"{expected[wrong[0]]:.4f}", "carry the states returned by each chunk into the next")
    print(f"your carried-state scorer matches token_log_probs on {len(mine)} tokens: ok")
    return float(mine.mean())


def check_cbow_loss(loss: Any, *, vocabulary_size: int = 30, dimension: int = 4, negatives: int = 3,
                    seed: int = 0) -> float:
    """Check a learner's CBOW negative-sampling loss (exercise of lesson 02): `loss(V, U, contexts, centres,
    noise)`, with V and U the centre and context tables (vocabulary, dimension), `contexts` (batch, 2·window)
    ids padded with 0, `centres` (batch,) and `noise` (batch, k), must equal the library's CBOW
    `compute_loss` (summed over the batch) to 1e-4, on random tables and windows of different lengths.
    Returns the loss; raises `LmzooError` otherwise."""
    import numpy as np
    from keras import ops

    from lmzoo.errors import LmzooError
    from lmzoo.models.word2vec import SkipGramNegativeSampling

    rng = np.random.default_rng(seed)
    contexts = rng.integers(4, vocabulary_size // 2, size=(6, 4))
    for row, length in enumerate((4, 3, 2, 4, 1, 2)):  # short windows: padding the loss must skip
        contexts[row, length:] = 0
    centres = rng.integers(vocabulary_size // 2, vocabulary_size, size=6)
    noise = rng.integers(vocabulary_size // 2, vocabulary_size, size=(6, negatives))
    noise[noise == centres[:, None]] = 4  # a noise word equal to its centre is skipped (as gensim does): avoid it
    model = SkipGramNegativeSampling(vocabulary_size, dimension, arch="cbow", negatives=negatives)
    batch = {"inputs": contexts, "targets": np.concatenate([centres[:, None], noise], axis=1)}
    model(batch)  # builds the two tables
    for table in (model.centre, model.context):
        table.embeddings.assign(rng.normal(scale=0.5, size=(vocabulary_size, dimension)).astype("float32"))
    expected = float(ops.convert_to_numpy(model.compute_loss(x=batch, y_pred=model(batch))))
    centre_table, context_table = (ops.convert_to_numpy(t.embeddings).astype(np.float64)
                                   for t in (model.centre, model.context))
    mine = float(loss(centre_table, context_table, contexts.copy(), centres.copy(), noise.copy()))
    if not abs(mine - expected) <= 1e-4 * max(1.0, abs(expected)):
        raise LmzooError(f"your CBOW loss is {mine:.5f}, the library's {expected:.5f}", "average the context vectors "
                         "over the real (non-padding) words, then -log σ(u_c·h) - Σ log σ(-u_n·h), summed over rows")
    print(f"your CBOW loss {mine:.5f} equals the library's on {len(centres)} windows of 1-4 words: ok")
    return mine


def check_reconstruction(decoded: Sequence[str], model: Any, sentences: Sequence[str]) -> None:
    """Check a learner's greedy decoder for the autoencoder (exercise of lesson 03): `decoded`, one string
    per sentence, must equal the model's own greedy `reconstruct(sentences)` sentence for sentence.
    Raises `LmzooError` naming the first sentence that differs."""
    from lmzoo.errors import LmzooError

    reference = model.reconstruct(list(sentences))
    mine = list(decoded)
    if len(mine) != len(reference):
        raise LmzooError(f"{len(mine)} decodings for {len(reference)} sentences", "one decoding per sentence")
    first = next((i for i, (a, b) in enumerate(zip(mine, reference, strict=True)) if a != b), None)
    if first is not None:
        raise LmzooError(f"sentence {first}: you decode {mine[first]!r}, reconstruct gives {reference[first]!r}",
                         "start the decoder state at the latent, feed <s> first and then each step's argmax, "
                         "stop at </s>")
    print(f"your greedy decoder matches reconstruct on all {len(mine)} sentences: ok")


def check_position_bias(layer: Any, *, length: int = 12, seed: int = 0) -> None:
    """Check a learner's learned relative-position bias (exercise of lesson 05), a Keras layer built as
    `Layer(max_distance)` whose `call(scores)` adds b to attention scores (…, query, key): b[i, j] =
    w[min(i - j, max_distance - 1)] for keys j <= i, one trainable weight per distance (T5's bias, Raffel et
    al. 2020, without its log buckets), and a large negative (≤ -1e4, or -inf) above the diagonal, so the
    bias is also the causal mask. The layer must rebuild from `get_config()`. Raises `LmzooError` otherwise."""
    import numpy as np
    from keras import ops

    from lmzoo.errors import LmzooError

    max_distance = int(layer.get_config().get("max_distance", 0))
    if max_distance < 1:
        raise LmzooError("get_config() has no max_distance >= 1", "store max_distance and return it in get_config")
    length = max(length, max_distance + 4)  # longer than max_distance: far keys share the last weight
    zeros = np.zeros((1, 1, length, length), "float32")
    bias = ops.convert_to_numpy(layer(zeros)).astype(np.float64)
    if bias.shape != zeros.shape:
        raise LmzooError(f"layer(scores) has shape {bias.shape}, not {zeros.shape}", "return scores + bias")
    if len(layer.trainable_weights) != 1 or int(np.prod(layer.trainable_weights[0].shape)) != max_distance:
        raise LmzooError(f"{[tuple(w.shape) for w in layer.trainable_weights]} trainable weights", f"one trainable "
                         f"weight of {max_distance} values, one per distance")
    rng = np.random.default_rng(seed)
    weights = rng.normal(size=max_distance).astype("float32")
    layer.trainable_weights[0].assign(weights.reshape(layer.trainable_weights[0].shape))
    scores = rng.normal(size=zeros.shape).astype("float32")
    bias = ops.convert_to_numpy(layer(zeros))[0, 0].astype(np.float64)
    i, j = np.indices((length, length))
    if not (bias[j > i] <= -1e4).all():
        raise LmzooError("a key after its query gets a bias above -1e4", "add a large negative above the diagonal")
    expected = weights[np.clip(i - j, 0, max_distance - 1)][j <= i]
    if not np.allclose(bias[j <= i], expected, atol=1e-5):
        raise LmzooError("b[i, j] is not w[min(i - j, max_distance - 1)] for keys j <= i",
                         "index the weights by the distance i - j, clipped at max_distance - 1")
    added = ops.convert_to_numpy(layer(scores))[0, 0].astype(np.float64) - scores[0, 0]
    if not np.allclose(added[j <= i], bias[j <= i], atol=1e-5):
        raise LmzooError("layer(scores) - scores is not the bias", "return scores + bias")
    rebuilt = type(layer).from_config(layer.get_config())
    if tuple(ops.shape(rebuilt(zeros))) != zeros.shape:
        raise LmzooError("the layer rebuilt from get_config() gives another shape", "return every argument in get_config")
    print(f"your position bias: one weight per distance up to {max_distance}, causal, rebuilds from its config: ok")


def check_freeze_then_unfreeze(fine_tune: Any, *, seed: int = 0) -> None:
    """Check a learner's freeze-then-unfreeze schedule (exercise of lesson 08): `fine_tune(classifier, x, y,
    frozen_epochs=1, epochs=3)` must train `classifier` (a `SequenceClassifier` over a small backbone) with
    the backbone frozen for `frozen_epochs` epochs, in which only the head learns, and unfrozen for the rest,
    in which the backbone's weights must change. Every `fit` call is recorded. Raises `LmzooError` otherwise."""
    import keras
    import numpy as np

    from lmzoo.errors import LmzooError
    from lmzoo.models.tasks import SequenceClassifier

    keras.utils.set_random_seed(seed)
    rng = np.random.default_rng(seed)
    backbone = keras.Sequential([keras.Input((None,), dtype="int32"), keras.layers.Embedding(20, 8)])
    classifier = SequenceClassifier(backbone, num_labels=2, dropout=0.0)
    x = rng.integers(1, 20, size=(64, 6)).astype("int32")
    y = (x[:, 0] < 10).astype("int32")
    classifier(x[:1])

    def snapshot(weights: list) -> list:
        return [np.array(w) for w in weights]

    calls: list[tuple[bool, int, bool, bool]] = []  # (backbone trainable, epochs, backbone moved, head moved)
    fit = classifier.fit

    def recording_fit(*args: Any, **kwargs: Any) -> Any:
        trainable = backbone.trainable
        before, head = snapshot(backbone.weights), snapshot(classifier.head.weights)
        history = fit(*args, **kwargs)
        moved = [any(not np.array_equal(a, np.array(b)) for a, b in zip(old, new.weights, strict=True))
                 for old, new in ((before, backbone), (head, classifier.head))]
        calls.append((trainable, len(history.epoch), *moved))
        return history

    classifier.fit = recording_fit
    fine_tune(classifier, x, y, frozen_epochs=1, epochs=3)
    frozen = [c for c in calls if not c[0]]
    if not calls or calls[0][0] or sum(c[1] for c in frozen) != 1:
        raise LmzooError(f"fit calls (backbone trainable, epochs): {[c[:2] for c in calls]}",
                         "first fit frozen_epochs epochs with backbone.trainable = False, then the rest")
    if any(c[2] for c in frozen) or not any(c[3] for c in frozen):
        raise LmzooError("in the frozen phase the backbone moved or the head did not",
                         "set backbone.trainable = False before compile, then fit")
    unfrozen = [c for c in calls if c[0]]
    if sum(c[1] for c in unfrozen) != 2:
        raise LmzooError(f"{sum(c[1] for c in unfrozen)} unfrozen epochs, not epochs - frozen_epochs = 2",
                         "fit the remaining epochs with the backbone trainable")
    if not any(c[2] for c in unfrozen):
        raise LmzooError("the backbone did not change after unfreezing", "compile again after setting "
                         "backbone.trainable = True: compile fixes which weights the training step updates")
    print("your schedule trains the head alone for 1 epoch, then head and backbone for 2: ok")


def measured_table() -> None:
    """The claims this run recorded (`claims.json` of the current `output_dir`) as a markdown table:
    name, measured value, the range the lesson's text states for this mode, the results file it was read
    from, and the verdict. Each lesson ends with it, so its numbers are never typed by hand; in a notebook
    the table is rendered, elsewhere printed."""
    from lmzoo.errors import LmzooError

    out = _current.get("out")
    if out is None:
        raise LmzooError("no lesson output folder yet", "call lmzoo.lesson.output_dir(name) at the top of the lesson")
    path = out / CLAIMS_FILE
    records = json.loads(path.read_text()) if path.exists() else {}
    lines = [f"| claim | measured | expected ({mode()} mode) | read from | verdict |", "|---|---|---|---|---|"]
    for name, record in records.items():
        expected = record[record["mode"]]
        stated = f"{_fmt(expected[0])}-{_fmt(expected[1])}" if expected else "–"
        lines.append(f"| {name} | {_fmt(record['value'])} | {stated} | {record['source'] or 'this run'} | "
                     f"{'ok' if record['ok'] else 'MISMATCH'} |")
    text = "\n".join(lines) if records else "No claims were recorded in this run."
    if _in_notebook():
        from IPython.display import Markdown, display

        display(Markdown(text))
    else:
        print(text)


def execute_notebook(lesson: str | os.PathLike, workdir: str | os.PathLike, *, timeout: int = 1200) -> Any:
    """Run a lesson as a Jupyter notebook in quick mode, as `make notebooks` does, and return the notebook.

    The kernel starts in `workdir`, which is also `LMZOO_LESSON_OUT` (figures, runs and `claims.json` go
    there), with matplotlib's inline backend, so the figures land in the cells' outputs. The outputs are
    then made fit to commit: stderr (TensorFlow's logs) is dropped, `workdir`'s path is written as `.`
    and the home folder as `~`, so the notebook names no machine path. Needs jupytext and nbclient (the
    `test` extra).

    Example:
        >>> notebook = execute_notebook("lessons/01_ngram.py", "runs/notebooks")  # doctest: +SKIP
    """
    import jupytext
    from nbclient import NotebookClient

    workdir = Path(workdir).resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    notebook = jupytext.read(lesson)
    env = {QUICK_ENV: "1", OUT_ENV: str(workdir), "PYTHONSAFEPATH": "1", "TF_CPP_MIN_LOG_LEVEL": "3"}
    saved = {key: os.environ.get(key) for key in (*env, "MPLBACKEND")}
    os.environ.update(env)
    os.environ.pop("MPLBACKEND", None)  # the kernel's own inline backend, as a learner gets it
    try:
        NotebookClient(notebook, timeout=timeout, kernel_name="python3",
                       resources={"metadata": {"path": str(workdir)}}).execute()
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    def scrub(text: str) -> str:
        return text.replace(str(workdir), ".").replace(str(Path.home()), "~")

    for cell in notebook.cells:
        if cell.cell_type == "code":
            cell.outputs = [o for o in cell.outputs if o.get("name") != "stderr"]
            for output in cell.outputs:
                if output.get("name") == "stdout":
                    output.text = scrub(output.text)
                if "text/plain" in output.get("data", {}):
                    output.data["text/plain"] = scrub(output.data["text/plain"])
    return notebook


# Forty short poems of 唐诗三百首 (Three Hundred Tang Poems), from the chinese-poetry project (MIT): the
# Chinese text a lesson falls back to, and says so, when the `tang-poems` corpus is not on this machine.
CHINESE_SAMPLE = (
    "西陸蟬聲唱，南冠客思侵。那堪玄鬢影，來對白頭吟。露重飛難進，風多響易沈。無人信高潔，誰爲表予心。\n"
    "前不見古人，後不見來者。念天地之悠悠，獨愴然而涕下。\n"
    "夫子何爲者？栖栖一代中。地猶鄹氏邑，宅即魯王宮。歎鳳嗟身否，傷麟怨道窮。今看兩楹奠，當與夢時同。\n"
    "秦時明月漢時關，萬里長征人未還。但使龍城飛將在，不教胡馬度陰山。\n"
    "黃砂直上白雲間，一片孤城萬仞山。羌笛何須怨楊柳，春風不度玉門關。\n"
    "三日入廚下，洗手作羹湯。未諳姑食性，先遣小姑嘗。\n"
    "寥落古行宮，宮花寂寞紅。白頭宮女在，閑坐說玄宗。\n"
    "錦瑟無端五十絃，一絃一柱思華年。莊生曉夢迷蝴蝶，望帝春心託杜鵑。滄海月明珠有淚，藍田日暖玉生煙。此情可待成追憶，只是當時已惘然。\n"
    "本以高難飽，徒勞恨費聲。五更疎欲斷，一樹碧無情。薄宦梗猶汎，故園蕪已平。煩君最相警，我亦舉家清。\n"
    "向晚意不適，驅車登古原。夕陽無限好，只是近黃昏。\n"
    "君問歸期未有期，巴山夜雨漲秋池。何當共剪西窗燭，却話巴山夜雨時。\n"
    "淒涼寶劍篇，羈泊欲窮年。黃葉仍風雨，青樓自管絃。新知遭薄俗，舊好隔良緣。心斷新豐酒，銷愁斗幾千。\n"
    "嵩雲秦樹久離居，雙鯉迢迢一紙書。休問梁園舊賓客，茂陵秋雨病相如。\n"
    "紫泉宮殿鎖煙霞，欲取蕪城作帝家。玉璽不緣歸日角，錦帆應是到天涯。于今腐草無螢火，終古垂楊有暮鴉。地下若逢陳後主，豈宜重問後庭花。\n"
    "猿鳥猶疑畏簡書，風雲常爲護儲胥。徒令上將揮神筆，終見降王走傳車。管樂有才終不忝，關張無命欲何如。他年錦里經祠廟，梁父吟成恨有餘。\n"
    "昨夜星辰昨夜風，畫樓西畔桂堂東。身無綵鳳雙飛翼，心有靈犀一點通。隔座送鉤春酒暖，分曹射覆蠟燈紅。嗟余聽鼓應官去，走馬蘭臺類斷蓬。\n"
    "來是空言去絕踪，月斜樓上五更鐘。夢爲遠別啼難喚，書被催成墨未濃。蠟照半籠金翡翠，麝熏微度繡芙蓉。劉郎已恨蓬山遠，更隔蓬山一萬重。\n"
    "颯颯東風細雨來，芙蓉塘外有輕雷。金蟾齧鏁燒香入，玉虎牽絲汲井迴。賈氏窺簾韓掾少，宓妃留枕魏王才。春心莫共花爭發，一寸相思一寸灰。\n"
    "乘興南遊不戒嚴，九重誰省諫書函。春風舉國裁宮錦，半作障泥半作帆。\n"
    "高閣客竟去，小園花亂飛。參差連曲陌，迢遰送斜暉。腸斷未忍掃，眼穿仍欲歸。芳心向春盡，所得是沾衣。\n"
    "爲有雲屏無限嬌，鳳城寒盡怕春宵。無端嫁得金龜壻，辜負香衾事早朝。\n"
    "相見時難別亦難，東風無力百花殘。春蠶到死絲方盡，蠟炬成灰淚始乾。曉鏡但愁雲鬢改，夜吟應覺月光寒。蓬山此去無多路，青鳥殷勤爲探看。\n"
    "瑤池阿母綺窗開，黃竹歌聲動地哀。八駿日行三萬里，穆王何事不重來。\n"
    "悵臥新春白袷衣，白門寥落意多違。紅樓隔雨相望冷，珠箔飄燈獨自歸。遠路應悲春晼晚，殘宵猶得夢依稀。玉璫緘札何由達，萬里雲羅一雁飛。\n"
    "雲母屏風燭影深，長河漸落曉星沈。常娥應悔偷靈藥，碧海青天夜夜心。\n"
    "鳳尾香羅薄幾重，碧文圓頂夜深縫。扇裁月魄羞難掩，車走雷聲語未通。曾是寂寥金燼暗，斷無消息石榴紅。\n"
    "重帷深下莫愁堂，臥後清宵細細長。神女生涯原是夢，小姑居處本無郎。風波不信菱枝弱，月露誰教桂葉香。直道相思了無益，未妨惆悵是清狂。\n"
    "宣室求賢訪逐臣，賈生才調更無倫。可憐夜半虛前席，不問蒼生問鬼神。\n"
    "客去波平檻，蟬休露滿枝。永懷當此節，倚立自移時。北斗兼春遠，南陵寓使遲。天涯占夢數，疑誤有新知。\n"
    "殘陽西入崦，茅屋訪孤僧。落葉人何在，寒雲路幾層。獨敲初夜磬，閑倚一枝藤。世界微塵裏，吾寧愛與憎。\n"
    "折戟沈沙鐵未銷，自將磨洗認前朝。東風不與周郎便，銅雀春深鎖二喬。\n"
    "清瑟怨遙夜，遶弦風雨哀。孤燈聞楚角，殘月下章臺。芳草已云暮，故人殊未來。鄉書不可寄，秋雁又南迴。\n"
    "誰謂傷心畫不成，畫人心逐世人情。君看六幅南朝事，老木寒雲滿故城。\n"
    "江雨霏霏江草齊，六朝如夢鳥空啼。無情最是臺城柳，依舊煙籠十里堤。\n"
    "十二樓中盡曉妝，望仙樓上望君王。鎖銜金獸連環冷，水滴銅龍晝漏長。雲髻罷梳還對鏡，羅衣欲換更添香。遙窺正殿簾開處，袍袴宮人掃御牀。\n"
    "露氣寒光集，微陽下楚丘。猨啼洞庭樹，人在木蘭舟。廣澤生明月，蒼山夾亂流。雲中君不降，竟夕自悲秋。\n"
    "灞原風雨定，晚見鴈行頻。落葉他鄉樹，寒燈獨夜人。空園白露滴，孤壁野僧隣。寄臥郊扉久，何門致此身。\n"
    "[玄]宗回馬楊妃死，雲雨雖亡日月新。終是聖明天子事，景陽宮井又何人。\n"
    "前年伐月支，城上沒全師。蕃漢斷消息，死生長別離。無人收廢帳，歸馬識殘旗。欲祭疑君在，天涯哭此時。\n"
    "打起黃鶯兒，莫教枝上啼。啼時驚妾夢，不得到遼西。\n"
)


def chinese_sample_corpus() -> Any:
    """`CHINESE_SAMPLE` as a corpus: the first 32 poems train, 4 validate, 4 test."""
    from lmzoo.datasets.corpus import Corpus

    lines = CHINESE_SAMPLE.splitlines(keepends=True)
    return Corpus("tang-sample", "".join(lines[:32]), "".join(lines[32:36]), "".join(lines[36:]), language="zh",
                  source="40 poems of 唐诗三百首 embedded in lmzoo.lesson")
