"""Small helpers the lessons share: quick mode, figures, measured claims, and showing library source.

Figures: `save_and_show(fig, path)` saves the PNG and displays the figure (inline in a notebook, in a
window under an interactive backend; the tests set `MPLBACKEND=Agg`, so nothing is drawn there).

Claims: a lesson never types a result by hand. Every figure its prose quotes is measured by the run (or
read from a results file the repository keeps) and recorded with `claim`, which prints it beside the
range the text promises and writes it to `claims.json` in the lesson's output folder. The prose names
the claim after the number, e.g. "Kneser-Ney scores 405 [kn3_perplexity]" (full mode) or
"[quick:kn3_perplexity]"; `tests/test_lessons.py` checks each such number against the ranges and the
quick run's measurement.

Example:
    >>> import tempfile
    >>> from lmzoo.lesson import quick, output_dir, claim
    >>> isinstance(quick(), bool)
    True
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
    from matplotlib import rcsetup

    path = Path(path)
    fig.savefig(path, dpi=dpi, bbox_inches="tight")
    if _in_notebook():
        from IPython.display import display

        display(fig)
    elif matplotlib.get_backend().lower() not in {b.lower() for b in rcsetup.non_interactive_bk}:
        plt.show()
    plt.close(fig)
    print(f"saved {path}")
    return path


def _fmt(value: float) -> str:
    if math.isinf(value) or math.isnan(value):
        return str(value)
    if value == int(value) or abs(value) >= 100:
        return f"{value:,.0f}"
    return f"{value:.3g}" if abs(value) < 1 else f"{value:.2f}"


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


def show_png(path: str | Path) -> None:
    """Display a saved figure inline in a notebook (IPython), or print where it is otherwise."""
    path = Path(path)
    if _in_notebook():
        from IPython.display import Image, display

        display(Image(filename=str(path)))
    else:
        print(f"figure: {path}")
